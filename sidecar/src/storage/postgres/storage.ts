import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { KeybridgeError } from '../../errors.ts';
import { migratePostgres } from './schema.ts';
import { insertAudit } from './audit.ts';
import { pgStorageFailure, runPostgres } from './errors.ts';
import { pgTransaction } from './transaction.ts';
import { type Row, auditFromRow, fromBuffer, metaFromRow, toBuffer, vaultFromRow } from '../rows.ts';
import * as rootKeys from './root-keys.ts';
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
 * PostgreSQL storage, shared by several stateless `keybridge server` nodes, on a `pg.Pool`.
 *
 * Every write is one transaction, committed with the server's `synchronous_commit` (on by
 * default: durable when its promise resolves). Audit rows are inserted last in their
 * transaction under a transaction advisory lock, so `seq` order is commit order and a reader
 * paging with `afterSeq` never skips a row that commits late. A lost connection (server
 * restart, failover, network) fails the calls in flight with `storage-failure`; the pool
 * drops the dead connections and later calls reconnect, without reopening the storage.
 */
export interface PostgresStorageOptions {
  /** Most connections this node keeps open (default 10). */
  maxConnections?: number;
  /** How long a call waits for a connection, in ms (default 5000). */
  connectTimeoutMs?: number;
  /** The server's `statement_timeout` for every statement, in ms (default 30000). */
  statementTimeoutMs?: number;
  /** TLS settings passed to node-postgres (`sslmode` in the URL works too). */
  ssl?: pg.PoolConfig['ssl'];
}

export async function openPostgresStorage(url: string, options: PostgresStorageOptions = {}): Promise<PostgresStorage> {
  let pool: pg.Pool;
  try {
    pool = new pg.Pool({
      connectionString: url,
      max: Math.max(1, Math.floor(options.maxConnections ?? 10)),
      connectionTimeoutMillis: Math.max(1, Math.floor(options.connectTimeoutMs ?? 5000)),
      statement_timeout: Math.max(0, Math.floor(options.statementTimeoutMs ?? 30_000)),
      idleTimeoutMillis: 30_000,
      keepAlive: true,
      application_name: 'keybridge',
      ...(options.ssl === undefined ? {} : { ssl: options.ssl }),
    });
  } catch (error) {
    // A malformed URL: its text (which may hold a password) is not echoed.
    throw new KeybridgeError('storage-failure', 'opening PostgreSQL: the connection URL is invalid', { cause: error });
  }
  // An idle connection that dies (server restart) is dropped by the pool; without a
  // listener the 'error' event would crash the process.
  pool.on('error', () => undefined);
  // A server shutting down (57P01) can send its FATAL in the same read as a reply, before a
  // borrower has attached its own listener: without one on every client from the start,
  // node treats that 'error' event as unhandled and the process dies. Callers still see the
  // failure through their query's rejection (storage-failure).
  pool.on('connect', (client) => client.on('error', () => undefined));
  try {
    await migratePostgres(pool, () => new Date().toISOString());
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw pgStorageFailure(error, 'preparing the database');
  }
  return new PostgresStorage(pool);
}

type Queryable = pg.Pool | pg.PoolClient;

export class PostgresStorage implements Storage {
  readonly #pool: pg.Pool;
  #closed = false;

  constructor(pool: pg.Pool) {
    this.#pool = pool;
  }

  /** The pool under `storage`, for a store that shares it (`openPostgresStores`); closing the storage ends it. */
  static poolOf(storage: PostgresStorage): pg.Pool {
    return storage.#pool;
  }

  async findVault(key: VaultKey): Promise<VaultRecord | null> {
    return this.#run('reading a vault', () => findVault(this.#pool, key));
  }

  async ensureVault(key: VaultKey, makeSealedDataKey: () => Promise<SealedDataKey>): Promise<VaultRecord> {
    const existing = await this.findVault(key);
    if (existing) return existing;
    const sealed = await makeSealedDataKey();
    // A concurrent creator's row wins; ON CONFLICT waits for it to commit, so the read sees it.
    await this.#transaction('creating a vault', async (client) => {
      await rootKeys.assertSealingKeyUsable(client, sealed.rootKeyId);
      await client.query(
        `INSERT INTO vaults (vault_id, site_id, environment, region, sealed_data_key, root_key_id, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (site_id, environment, region) DO NOTHING`,
        [randomUUID(), key.siteId, key.environment, key.region, toBuffer(sealed.sealedDataKey), sealed.rootKeyId, new Date().toISOString()],
      );
    });
    return this.#run('creating a vault', async () => {
      const record = await findVault(this.#pool, key);
      if (!record) throw new KeybridgeError('storage-failure', 'creating a vault: the new vault cannot be read back');
      return record;
    });
  }

  async listVaults(filter: { rootKeyId?: string } = {}): Promise<VaultRecord[]> {
    return this.#run('listing vaults', () => rootKeys.listVaults(this.#pool, filter));
  }

  async resealVault(vaultId: string, expectedRootKeyId: string, sealed: SealedDataKey): Promise<boolean> {
    return this.#transaction('re-sealing a vault', (client) => rootKeys.resealVault(client, vaultId, expectedRootKeyId, sealed));
  }

  async listRootKeys(): Promise<RootKeyRecord[]> {
    return this.#run('listing root keys', () => rootKeys.listRootKeys(this.#pool));
  }

  async addRootKey(record: Omit<RootKeyRecord, 'createdAt' | 'updatedAt'>, at: string): Promise<boolean> {
    return this.#run('recording a root key', () => rootKeys.addRootKey(this.#pool, record, at));
  }

  async setRootKeyStates(changes: readonly RootKeyStateChange[], at: string): Promise<boolean> {
    try {
      await this.#transaction('changing root key states', (client) => rootKeys.setRootKeyStates(client, changes, at));
      return true;
    } catch (error) {
      if (error instanceof rootKeys.StatesNotApplied) return false;
      throw error;
    }
  }

  async upsertSecret(write: SecretWrite, audit: WriteAudit): Promise<{ version: number; updatedAt: string }> {
    return this.#transaction('writing a secret', async (client) => {
      const { rows } = await client.query<Row>(
        `INSERT INTO secrets (vault_id, key_id, meta, value, version, updated_at, reads, deleted)
         VALUES ($1, $2, $3, $4, 1, $5, 0, false)
         ON CONFLICT (vault_id, key_id) DO UPDATE SET
           meta = excluded.meta, value = excluded.value, version = secrets.version + 1,
           updated_at = excluded.updated_at,
           reads = CASE WHEN secrets.deleted THEN 0 ELSE secrets.reads END, deleted = false
         RETURNING version, updated_at`,
        [write.vaultId, write.keyId, toBuffer(write.meta), toBuffer(write.value), write.at],
      );
      await insertAudit(client, [{ ...audit, vaultId: write.vaultId, keyId: write.keyId, result: 'ok' }]);
      return { version: Number(rows[0].version), updatedAt: String(rows[0].updated_at) };
    });
  }

  async getSecrets(vaultId: string, keyIds: readonly string[]): Promise<Map<string, SecretRecord>> {
    return this.#run('reading secrets', async () => {
      const found = new Map<string, SecretRecord>();
      if (keyIds.length === 0) return found;
      const { rows } = await this.#pool.query<Row>(
        `SELECT key_id, meta, value, version, updated_at, reads FROM secrets
         WHERE vault_id = $1 AND key_id = ANY ($2::text[]) AND NOT deleted`,
        [vaultId, [...new Set(keyIds)]],
      );
      for (const row of rows) found.set(String(row.key_id), { ...metaFromRow(row), value: fromBuffer(row.value) });
      return found;
    });
  }

  async listSecrets(vaultId: string): Promise<SecretMetaRecord[]> {
    return this.#run('listing secrets', async () => {
      const { rows } = await this.#pool.query<Row>(
        `SELECT key_id, meta, version, updated_at, reads FROM secrets
         WHERE vault_id = $1 AND NOT deleted ORDER BY key_id`,
        [vaultId],
      );
      return rows.map(metaFromRow);
    });
  }

  async deleteSecret(vaultId: string, keyId: string, audit: WriteAudit): Promise<boolean> {
    return this.#transaction('deleting a secret', async (client) => {
      const { rowCount } = await client.query(
        `UPDATE secrets SET meta = NULL, value = NULL, reads = 0, deleted = true, updated_at = $1
         WHERE vault_id = $2 AND key_id = $3 AND NOT deleted`,
        [audit.at, vaultId, keyId],
      );
      const existed = (rowCount ?? 0) > 0;
      await insertAudit(client, [{ ...audit, vaultId, keyId, result: existed ? 'ok' : 'not-found' }]);
      return existed;
    });
  }

  async recordReads(vaultId: string, keyIds: readonly string[]): Promise<void> {
    await this.#run('counting reads', async () => {
      if (keyIds.length === 0) return;
      // One statement: each matching row is updated once, however often its id is listed.
      await this.#pool.query('UPDATE secrets SET reads = reads + 1 WHERE vault_id = $1 AND key_id = ANY ($2::text[]) AND NOT deleted', [
        vaultId,
        [...new Set(keyIds)],
      ]);
    });
  }

  async appendAudit(entries: AuditEntry | readonly AuditEntry[]): Promise<void> {
    const list: readonly AuditEntry[] = Array.isArray(entries) ? entries : [entries as AuditEntry];
    if (list.length === 0) return this.#run('writing the audit log', async () => undefined);
    await this.#transaction('writing the audit log', (client) => insertAudit(client, list));
  }

  async listAudit(filter: AuditFilter = {}): Promise<AuditRecord[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (column: string, operator: string, value: unknown): void => {
      params.push(value);
      where.push(`${column} ${operator} $${params.length}`);
    };
    if (filter.vaultId !== undefined) add('vault_id', '=', filter.vaultId);
    if (filter.keyId !== undefined) add('key_id', '=', filter.keyId);
    if (filter.actor !== undefined) add('actor', '=', filter.actor);
    if (filter.op !== undefined) add('op', '=', filter.op);
    if (filter.afterSeq !== undefined) add('seq', '>', Math.floor(filter.afterSeq));
    if (filter.since !== undefined) add('at', '>=', filter.since);
    if (filter.until !== undefined) add('at', '<', filter.until);
    const limit = Math.min(Math.max(1, Math.floor(filter.limit ?? AUDIT_DEFAULT_LIMIT)), AUDIT_MAX_LIMIT);
    const sql = `SELECT seq, at, actor, op, vault_id, key_id, result FROM audit
      ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq LIMIT ${limit}`;
    return this.#run('reading the audit log', async () => (await this.#pool.query<Row>(sql, params)).rows.map(auditFromRow));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      await this.#pool.end();
    } catch (error) {
      throw pgStorageFailure(error, 'closing the database');
    }
  }

  #run<T>(operation: string, body: () => Promise<T>): Promise<T> {
    return runPostgres(this.#closed, operation, body);
  }

  /** BEGIN … COMMIT on one pooled connection; retried on serialization failures and deadlocks only. */
  #transaction<T>(operation: string, body: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    return pgTransaction(this.#pool, () => this.#closed, operation, body);
  }
}

async function findVault(db: Queryable, key: VaultKey): Promise<VaultRecord | null> {
  const { rows } = await db.query<Row>(
    'SELECT vault_id, sealed_data_key, root_key_id FROM vaults WHERE site_id = $1 AND environment = $2 AND region = $3',
    [key.siteId, key.environment, key.region],
  );
  return rows.length === 0 ? null : vaultFromRow(rows[0]);
}
