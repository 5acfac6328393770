import type Database from 'better-sqlite3';
import { type Row, rootKeyFromRow, rootKeyNotActive, toBuffer, vaultFromRow } from '../rows.ts';
import { checkRootKeyRecord, checkStateChanges } from '../root-key-checks.ts';
import type { RootKeyRecord, RootKeyStateChange, SealedDataKey, VaultRecord } from '../types.ts';

/**
 * The SQLite side of root key rotation (see types.ts: listVaults, resealVault and the
 * root_keys records). Kept apart from storage.ts so each file stays readable; every
 * function runs inside the caller's error mapping, writes in IMMEDIATE transactions.
 */

/** Throws unless `keyId` may seal new data keys: recorded as active, or not recorded at all. */
export function assertSealingKeyUsable(db: Database.Database, keyId: string): void {
  const row = db.prepare('SELECT state FROM root_keys WHERE key_id = ?').get(keyId) as Row | undefined;
  if (row && row.state !== 'active') throw rootKeyNotActive(keyId, String(row.state));
}

export function listVaults(db: Database.Database, filter: { rootKeyId?: string } = {}): VaultRecord[] {
  const rows =
    filter.rootKeyId === undefined
      ? db.prepare('SELECT vault_id, sealed_data_key, root_key_id FROM vaults ORDER BY vault_id').all()
      : db
          .prepare('SELECT vault_id, sealed_data_key, root_key_id FROM vaults WHERE root_key_id = ? ORDER BY vault_id')
          .all(filter.rootKeyId);
  return (rows as Row[]).map(vaultFromRow);
}

export function resealVault(db: Database.Database, vaultId: string, expectedRootKeyId: string, sealed: SealedDataKey): boolean {
  return db
    .transaction(() => {
      assertSealingKeyUsable(db, sealed.rootKeyId);
      const { changes } = db
        .prepare('UPDATE vaults SET sealed_data_key = ?, root_key_id = ? WHERE vault_id = ? AND root_key_id = ?')
        .run(toBuffer(sealed.sealedDataKey), sealed.rootKeyId, vaultId, expectedRootKeyId);
      return changes === 1;
    })
    .immediate();
}

export function listRootKeys(db: Database.Database): RootKeyRecord[] {
  const rows = db
    .prepare('SELECT key_id, kind, locator, state, created_at, updated_at FROM root_keys ORDER BY created_at, rowid')
    .all() as Row[];
  return rows.map(rootKeyFromRow);
}

export function addRootKey(db: Database.Database, record: Omit<RootKeyRecord, 'createdAt' | 'updatedAt'>, at: string): boolean {
  checkRootKeyRecord(record);
  const { changes } = db
    .prepare(
      `INSERT INTO root_keys (key_id, kind, locator, state, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
    )
    .run(record.keyId, record.kind, record.locator, record.state, at, at);
  return changes === 1;
}

class NotApplied extends Error {}

export function setRootKeyStates(db: Database.Database, changes: readonly RootKeyStateChange[], at: string): boolean {
  checkStateChanges(changes);
  try {
    db.transaction(() => {
      const update = db.prepare('UPDATE root_keys SET state = ?, updated_at = ? WHERE key_id = ? AND state = ?');
      for (const change of changes) {
        if (update.run(change.to, at, change.keyId, change.from).changes !== 1) throw new NotApplied();
      }
    }).immediate();
    return true;
  } catch (error) {
    if (error instanceof NotApplied) return false;
    // A second pending, active or retiring key: the partial unique index refused it.
    if (String((error as { code?: unknown }).code).startsWith('SQLITE_CONSTRAINT_UNIQUE')) return false;
    throw error;
  }
}
