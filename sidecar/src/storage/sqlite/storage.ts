import { randomUUID } from 'node:crypto';
import { closeSync, constants, fsyncSync, mkdirSync, openSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { KeybridgeError } from '../../errors.ts';
import { migrateSqlite } from './schema.ts';
import { runSqlite, storageFailure } from './errors.ts';
import * as rootKeys from './root-keys.ts';
import { type Row, auditFromRow, fromBuffer, metaFromRow, toBuffer, vaultFromRow } from '../rows.ts';
import {
  AUDIT_DEFAULT_LIMIT,
  AUDIT_MAX_LIMIT,
  type AuditEntry,
  type AuditFilter,
  type AuditRecord,
  type RootKeyRecord,
  type RootKeyStateChange,
  type SealedDataKey,
  type SecretMetaRecord,
  type SecretRecord,
  type SecretWrite,
  type Storage,
  type VaultKey,
  type VaultRecord,
  type WriteAudit,
} from '../types.ts';

/**
 * SQLite storage (the embedded default), on better-sqlite3.
 *
 * WAL with `synchronous = FULL`: every commit is fsynced before its promise resolves, so
 * an acknowledged write survives kill -9 and power loss. Writes use IMMEDIATE
 * transactions and `busy_timeout`, so several processes may share the file.
 */
export interface SqliteStorageOptions {
  /** How long a write waits for another process's lock, in ms (default 5000). */
  busyTimeoutMs?: number;
}

export async function openSqliteStorage(file: string, options: SqliteStorageOptions = {}): Promise<SqliteStorage> {
  const path = resolve(file);
  let db: Database.Database;
  try {
    createPrivateDatabaseFile(path);
    db = new Database(path, { fileMustExist: true });
  } catch (error) {
    throw storageFailure(error, `opening ${path}`);
  }
  try {
    return SqliteStorage.fromDatabase(db, options);
  } catch (error) {
    db.close();
    throw error;
  }
}

/** Creates the directory (0700) and an empty database file (0600) if missing; SQLite gives its WAL the same mode. */
function createPrivateDatabaseFile(path: string): void {
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL, 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return;
    throw error;
  }
  closeSync(fd);
  const dirFd = openSync(dir, constants.O_RDONLY);
  try {
    fsyncSync(dirFd);
  } finally {
    closeSync(dirFd);
  }
}

export class SqliteStorage implements Storage {
  readonly #db: Database.Database;
  #closed = false;

  private constructor(db: Database.Database) {
    this.#db = db;
  }

  /** Applies the pragmas and migrations to an open handle (tests use this to add limits). */
  static fromDatabase(db: Database.Database, options: SqliteStorageOptions = {}): SqliteStorage {
    try {
      db.pragma(`busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutMs ?? 5000))}`);
      const mode = db.pragma('journal_mode = WAL', { simple: true });
      if (String(mode).toLowerCase() !== 'wal') {
        throw new KeybridgeError('storage-failure', `the database could not switch to WAL mode (got ${String(mode)})`);
      }
      db.pragma('synchronous = FULL');
      db.pragma('foreign_keys = ON');
      db.pragma('secure_delete = ON');
      migrateSqlite(db, () => new Date().toISOString());
    } catch (error) {
      throw storageFailure(error, 'preparing the database');
    }
    return new SqliteStorage(db);
  }

  async findVault(key: VaultKey): Promise<VaultRecord | null> {
    return this.#run('reading a vault', () => this.#findVault(key));
  }

  async ensureVault(key: VaultKey, makeSealedDataKey: () => Promise<SealedDataKey>): Promise<VaultRecord> {
    const existing = await this.findVault(key);
    if (existing) return existing;
    const sealed = await makeSealedDataKey();
    return this.#run('creating a vault', () =>
      this.#db
        .transaction(() => {
          // In the same IMMEDIATE transaction as the insert: a rotation's state change is
          // either before it (refused here) or after it (the rotation then sees this vault).
          rootKeys.assertSealingKeyUsable(this.#db, sealed.rootKeyId);
          this.#db
            .prepare(
              `INSERT INTO vaults (vault_id, site_id, environment, region, sealed_data_key, root_key_id, created_at)
               VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (site_id, environment, region) DO NOTHING`,
            )
            .run(
              randomUUID(),
              key.siteId,
              key.environment,
              key.region,
              toBuffer(sealed.sealedDataKey),
              sealed.rootKeyId,
              new Date().toISOString(),
            );
          const record = this.#findVault(key);
          if (!record) throw new KeybridgeError('storage-failure', 'creating a vault: the new vault cannot be read back');
          return record;
        })
        .immediate(),
    );
  }

  async listVaults(filter: { rootKeyId?: string } = {}): Promise<VaultRecord[]> {
    return this.#run('listing vaults', () => rootKeys.listVaults(this.#db, filter));
  }

  async resealVault(vaultId: string, expectedRootKeyId: string, sealed: SealedDataKey): Promise<boolean> {
    return this.#run('re-sealing a vault', () => rootKeys.resealVault(this.#db, vaultId, expectedRootKeyId, sealed));
  }

  async listRootKeys(): Promise<RootKeyRecord[]> {
    return this.#run('listing root keys', () => rootKeys.listRootKeys(this.#db));
  }

  async addRootKey(record: Omit<RootKeyRecord, 'createdAt' | 'updatedAt'>, at: string): Promise<boolean> {
    return this.#run('recording a root key', () => rootKeys.addRootKey(this.#db, record, at));
  }

  async setRootKeyStates(changes: readonly RootKeyStateChange[], at: string): Promise<boolean> {
    return this.#run('changing root key states', () => rootKeys.setRootKeyStates(this.#db, changes, at));
  }

  async upsertSecret(write: SecretWrite, audit: WriteAudit): Promise<{ version: number; updatedAt: string }> {
    return this.#run('writing a secret', () =>
      this.#db
        .transaction(() => {
          const row = this.#db
            .prepare(
              `INSERT INTO secrets (vault_id, key_id, meta, value, version, updated_at, reads, deleted)
               VALUES (?, ?, ?, ?, 1, ?, 0, 0)
               ON CONFLICT (vault_id, key_id) DO UPDATE SET
                 meta = excluded.meta, value = excluded.value, version = secrets.version + 1,
                 updated_at = excluded.updated_at,
                 reads = CASE WHEN secrets.deleted = 1 THEN 0 ELSE secrets.reads END, deleted = 0
               RETURNING version, updated_at`,
            )
            .get(write.vaultId, write.keyId, toBuffer(write.meta), toBuffer(write.value), write.at) as Row;
          this.#insertAudit({ ...audit, vaultId: write.vaultId, keyId: write.keyId, result: 'ok' });
          return { version: Number(row.version), updatedAt: String(row.updated_at) };
        })
        .immediate(),
    );
  }

  async getSecrets(vaultId: string, keyIds: readonly string[]): Promise<Map<string, SecretRecord>> {
    return this.#run('reading secrets', () =>
      this.#db
        .transaction(() => {
          const statement = this.#db.prepare(
            `SELECT key_id, meta, value, version, updated_at, reads FROM secrets
             WHERE vault_id = ? AND key_id = ? AND deleted = 0`,
          );
          const found = new Map<string, SecretRecord>();
          for (const keyId of new Set(keyIds)) {
            const row = statement.get(vaultId, keyId) as Row | undefined;
            if (row) found.set(keyId, { ...metaFromRow(row), value: fromBuffer(row.value) });
          }
          return found;
        })
        .deferred(),
    );
  }

  async listSecrets(vaultId: string): Promise<SecretMetaRecord[]> {
    return this.#run('listing secrets', () =>
      (
        this.#db
          .prepare(
            `SELECT key_id, meta, version, updated_at, reads FROM secrets
             WHERE vault_id = ? AND deleted = 0 ORDER BY key_id`,
          )
          .all(vaultId) as Row[]
      ).map(metaFromRow),
    );
  }

  async deleteSecret(vaultId: string, keyId: string, audit: WriteAudit): Promise<boolean> {
    return this.#run('deleting a secret', () =>
      this.#db
        .transaction(() => {
          const changed = this.#db
            .prepare(
              `UPDATE secrets SET meta = NULL, value = NULL, reads = 0, deleted = 1, updated_at = ?
               WHERE vault_id = ? AND key_id = ? AND deleted = 0`,
            )
            .run(audit.at, vaultId, keyId).changes;
          const existed = changed > 0;
          this.#insertAudit({ ...audit, vaultId, keyId, result: existed ? 'ok' : 'not-found' });
          return existed;
        })
        .immediate(),
    );
  }

  async recordReads(vaultId: string, keyIds: readonly string[]): Promise<void> {
    this.#run('counting reads', () =>
      this.#db
        .transaction(() => {
          const statement = this.#db.prepare('UPDATE secrets SET reads = reads + 1 WHERE vault_id = ? AND key_id = ? AND deleted = 0');
          for (const keyId of new Set(keyIds)) statement.run(vaultId, keyId);
        })
        .immediate(),
    );
  }

  async appendAudit(entries: AuditEntry | readonly AuditEntry[]): Promise<void> {
    const list: readonly AuditEntry[] = Array.isArray(entries) ? entries : [entries as AuditEntry];
    this.#run('writing the audit log', () => this.#db.transaction(() => list.forEach((entry) => this.#insertAudit(entry))).immediate());
  }

  async listAudit(filter: AuditFilter = {}): Promise<AuditRecord[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (sql: string, value: unknown): void => {
      where.push(sql);
      params.push(value);
    };
    if (filter.vaultId !== undefined) add('vault_id = ?', filter.vaultId);
    if (filter.keyId !== undefined) add('key_id = ?', filter.keyId);
    if (filter.actor !== undefined) add('actor = ?', filter.actor);
    if (filter.op !== undefined) add('op = ?', filter.op);
    if (filter.afterSeq !== undefined) add('seq > ?', filter.afterSeq);
    if (filter.since !== undefined) add('at >= ?', filter.since);
    if (filter.until !== undefined) add('at < ?', filter.until);
    const limit = Math.min(Math.max(1, Math.floor(filter.limit ?? AUDIT_DEFAULT_LIMIT)), AUDIT_MAX_LIMIT);
    const sql = `SELECT seq, at, actor, op, vault_id, key_id, result FROM audit
      ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq LIMIT ${limit}`;
    return this.#run('reading the audit log', () => (this.#db.prepare(sql).all(...params) as Row[]).map(auditFromRow));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#db.close();
    } catch (error) {
      throw storageFailure(error, 'closing the database');
    }
  }

  #run<T>(operation: string, body: () => T): T {
    return runSqlite(this.#closed, operation, body);
  }

  #findVault(key: VaultKey): VaultRecord | null {
    const row = this.#db
      .prepare('SELECT vault_id, sealed_data_key, root_key_id FROM vaults WHERE site_id = ? AND environment = ? AND region = ?')
      .get(key.siteId, key.environment, key.region) as Row | undefined;
    return row ? vaultFromRow(row) : null;
  }

  #insertAudit(entry: AuditEntry): void {
    this.#db
      .prepare('INSERT INTO audit (at, actor, op, vault_id, key_id, result) VALUES (?, ?, ?, ?, ?, ?)')
      .run(entry.at, entry.actor, entry.op, entry.vaultId ?? null, entry.keyId ?? null, entry.result);
  }
}
