import type pg from 'pg';
import { KeybridgeError } from '../../errors.ts';
import { type Row, rootKeyFromRow, rootKeyNotActive, toBuffer, vaultFromRow } from '../rows.ts';
import { checkRootKeyRecord, checkStateChanges } from '../root-key-checks.ts';
import type { RootKeyRecord, RootKeyStateChange, SealedDataKey, VaultRecord } from '../types.ts';

/**
 * The PostgreSQL side of root key rotation (see types.ts: listVaults, resealVault and the
 * root_keys records), kept apart from storage.ts so each file stays readable. The
 * functions taking a client run inside the caller's transaction.
 */
type Queryable = pg.Pool | pg.PoolClient;

/**
 * Throws unless `keyId` may seal new data keys (recorded as active, or not recorded).
 * FOR SHARE holds the key's row until the caller commits: a rotation's state change waits
 * for this transaction, so the rotation's later passes see the vault it writes.
 */
export async function assertSealingKeyUsable(client: pg.PoolClient, keyId: string): Promise<void> {
  const { rows } = await client.query<Row>('SELECT state FROM root_keys WHERE key_id = $1 FOR SHARE', [keyId]);
  if (rows.length > 0 && rows[0].state !== 'active') throw rootKeyNotActive(keyId, String(rows[0].state));
}

export async function listVaults(db: Queryable, filter: { rootKeyId?: string } = {}): Promise<VaultRecord[]> {
  const { rows } =
    filter.rootKeyId === undefined
      ? await db.query<Row>('SELECT vault_id, sealed_data_key, root_key_id FROM vaults ORDER BY vault_id')
      : await db.query<Row>('SELECT vault_id, sealed_data_key, root_key_id FROM vaults WHERE root_key_id = $1 ORDER BY vault_id', [
          filter.rootKeyId,
        ]);
  return rows.map(vaultFromRow);
}

export async function resealVault(
  client: pg.PoolClient,
  vaultId: string,
  expectedRootKeyId: string,
  sealed: SealedDataKey,
): Promise<boolean> {
  await assertSealingKeyUsable(client, sealed.rootKeyId);
  const { rowCount } = await client.query(
    'UPDATE vaults SET sealed_data_key = $1, root_key_id = $2 WHERE vault_id = $3 AND root_key_id = $4',
    [toBuffer(sealed.sealedDataKey), sealed.rootKeyId, vaultId, expectedRootKeyId],
  );
  return rowCount === 1;
}

export async function listRootKeys(db: Queryable): Promise<RootKeyRecord[]> {
  const { rows } = await db.query<Row>(
    'SELECT key_id, kind, locator, state, created_at, updated_at FROM root_keys ORDER BY created_at, seq',
  );
  return rows.map(rootKeyFromRow);
}

export async function addRootKey(db: Queryable, record: Omit<RootKeyRecord, 'createdAt' | 'updatedAt'>, at: string): Promise<boolean> {
  checkRootKeyRecord(record);
  const { rowCount } = await db.query(
    `INSERT INTO root_keys (key_id, kind, locator, state, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT DO NOTHING`,
    [record.keyId, record.kind, record.locator, record.state, at],
  );
  return rowCount === 1;
}

/** Thrown inside the transaction so it rolls back; the caller turns it into `false`. */
export class StatesNotApplied extends KeybridgeError {
  constructor() {
    super('internal', 'a root key state change did not apply');
  }
}

export async function setRootKeyStates(client: pg.PoolClient, changes: readonly RootKeyStateChange[], at: string): Promise<void> {
  checkStateChanges(changes);
  for (const change of changes) {
    let applied: number | null;
    try {
      ({ rowCount: applied } = await client.query('UPDATE root_keys SET state = $1, updated_at = $2 WHERE key_id = $3 AND state = $4', [
        change.to,
        at,
        change.keyId,
        change.from,
      ]));
    } catch (error) {
      // A second pending, active or retiring key: the partial unique index refused it.
      if ((error as { code?: unknown }).code === '23505') throw new StatesNotApplied();
      throw error;
    }
    if (applied !== 1) throw new StatesNotApplied();
  }
}
