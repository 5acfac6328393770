import type pg from 'pg';
import { KeybridgeError } from '../../errors.ts';
import { PostgresStorage, openPostgresStorage, type PostgresStorageOptions } from './storage.ts';
import { pgStorageFailure, runPostgres } from './errors.ts';
import { pgTransaction } from './transaction.ts';
import * as certificates from './registry-certificates.ts';
import { SITE_COLUMNS, type Row } from '../registry-rows.ts';
import { accountFromRow, approvalChangeValues, optionalSerial, requireText, siteFromRow } from '../registry-rows.ts';
import {
  newAccountId,
  newSiteId,
  normalizeEmail,
  requireApproval,
  type AccountRecord,
  type CertificateRecord,
  type LineageRevocation,
  type NewCertificate,
  type ProductionApproval,
  type ProductionRequestState,
  type Registry,
  type SiteFilter,
  type SiteRecord,
} from '../registry-types.ts';

/**
 * The registry on PostgreSQL: the tables live beside the secrets (migration 2 of
 * `schema.ts`), on the same kind of `pg.Pool` with the same error mapping
 * (`pgStorageFailure`: SQLSTATE only, never data). It mirrors `SqliteRegistry`.
 *
 * Every call is one autocommit statement (plus reads that only explain a refusal), so
 * several server nodes may share the database: unique indexes decide races. A duplicate
 * email or nonce is an `INSERT … ON CONFLICT DO NOTHING`: a concurrent writer of the same
 * key waits for the first to commit, then inserts nothing, so exactly one wins. A revocation
 * is one `UPDATE … COALESCE`, re-evaluated on the latest row when it waited for another.
 */
export interface PostgresRegistryOptions {
  /** Whether `close()` ends the pool (default false: the pool is shared). */
  ownsPool?: boolean;
}

/** Opens a registry on its own pool (created and migrated as for the secrets storage). */
export async function openPostgresRegistry(url: string, options: PostgresStorageOptions = {}): Promise<PostgresRegistry> {
  // openPostgresStorage builds the pool (limits, timeouts, TLS, error listener) and
  // migrates; the registry takes that pool over and ends it on close.
  const storage = await openPostgresStorage(url, options);
  return new PostgresRegistry(PostgresStorage.poolOf(storage), { ownsPool: true });
}

/** The secrets storage and the registry on one pool, ended once. */
export interface PostgresStores {
  storage: PostgresStorage;
  registry: PostgresRegistry;
  /** Closes the registry, then the storage (which ends the pool). */
  close(): Promise<void>;
}

/** Opens (migrating if needed) one pool for both stores. */
export async function openPostgresStores(url: string, options: PostgresStorageOptions = {}): Promise<PostgresStores> {
  const storage = await openPostgresStorage(url, options);
  const registry = new PostgresRegistry(PostgresStorage.poolOf(storage), { ownsPool: false });
  return {
    storage,
    registry,
    close: async () => {
      await registry.close();
      await storage.close();
    },
  };
}

export class PostgresRegistry implements Registry {
  readonly #pool: pg.Pool;
  readonly #ownsPool: boolean;
  #closed = false;

  /** `pool` must reach a database migrated by `migratePostgres` (any opener above does it). */
  constructor(pool: pg.Pool, options: PostgresRegistryOptions = {}) {
    this.#pool = pool;
    this.#ownsPool = options.ownsPool ?? false;
  }

  async createAccount(input: { email: string; passwordHash: string; at: string }): Promise<AccountRecord> {
    return this.#run('creating an account', async () => {
      const record: AccountRecord = {
        accountId: newAccountId(),
        email: normalizeEmail(input.email),
        passwordHash: requireText(input.passwordHash, 'passwordHash'),
        createdAt: input.at,
      };
      const { rowCount } = await this.#pool.query(
        `INSERT INTO accounts (account_id, email, password_hash, created_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT ((lower(email))) DO NOTHING`,
        [record.accountId, record.email, record.passwordHash, record.createdAt],
      );
      if (rowCount !== 1) throw new KeybridgeError('account-exists', undefined, { field: 'email' });
      return record;
    });
  }

  async findAccountByEmail(email: string): Promise<AccountRecord | null> {
    return this.#run('reading an account', async () => {
      const normalized = String(email).trim().toLowerCase();
      // lower() under the column's "C" collation leaves a normalized email as it is, and
      // lets the lookup use the unique index.
      const { rows } = await this.#pool.query<Row>(
        'SELECT account_id, email, password_hash, created_at FROM accounts WHERE lower(email) = $1',
        [normalized],
      );
      return rows.length ? accountFromRow(rows[0]) : null;
    });
  }

  async getAccount(accountId: string): Promise<AccountRecord | null> {
    return this.#run('reading an account', async () => {
      const { rows } = await this.#pool.query<Row>(
        'SELECT account_id, email, password_hash, created_at FROM accounts WHERE account_id = $1',
        [String(accountId)],
      );
      return rows.length ? accountFromRow(rows[0]) : null;
    });
  }

  async setAccountPassword(accountId: string, passwordHash: string): Promise<boolean> {
    return this.#run('setting an account password', async () => {
      const { rowCount } = await this.#pool.query('UPDATE accounts SET password_hash = $1 WHERE account_id = $2', [
        requireText(passwordHash, 'passwordHash'),
        String(accountId),
      ]);
      return (rowCount ?? 0) > 0;
    });
  }

  async createSite(input: { accountId: string; name: string; region: string; partner?: string | null; at: string }): Promise<SiteRecord> {
    return this.#run('creating a site', async () => {
      const record: SiteRecord = {
        siteId: newSiteId(),
        accountId: input.accountId,
        name: requireText(input.name, 'name'),
        region: requireText(input.region, 'region'),
        partner: input.partner ?? null,
        productionApproval: 'none',
        productionRequestedBy: null,
        createdAt: input.at,
      };
      // The account check and the insert are one statement (accounts are never deleted).
      const { rowCount } = await this.#pool.query(
        `INSERT INTO sites (site_id, account_id, name, region, partner, production_approval, created_at)
         SELECT $1, account_id, $3, $4, $5, 'none', $6 FROM accounts WHERE account_id = $2`,
        [record.siteId, record.accountId, record.name, record.region, record.partner, record.createdAt],
      );
      if (rowCount !== 1) throw new KeybridgeError('invalid-field', 'no such account', { field: 'accountId' });
      return record;
    });
  }

  async getSite(siteId: string): Promise<SiteRecord | null> {
    return this.#run('reading a site', async () => {
      const { rows } = await this.#pool.query<Row>(`SELECT ${SITE_COLUMNS} FROM sites WHERE site_id = $1`, [siteId]);
      return rows.length ? siteFromRow(rows[0]) : null;
    });
  }

  async listSites(filter: SiteFilter = {}): Promise<SiteRecord[]> {
    return this.#run('listing sites', async () => {
      const where: string[] = [];
      const params: unknown[] = [];
      if (filter.accountId !== undefined) {
        params.push(filter.accountId);
        where.push(`account_id = $${params.length}`);
      }
      if (filter.productionApproval !== undefined) {
        params.push(requireApproval(filter.productionApproval));
        where.push(`production_approval = $${params.length}`);
      }
      const sql = `SELECT ${SITE_COLUMNS} FROM sites ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY created_at, seq`;
      return (await this.#pool.query<Row>(sql, params)).rows.map(siteFromRow);
    });
  }

  async setProductionApproval(
    siteId: string,
    approval: ProductionApproval,
    at: string,
    requestedBy: string | null = null,
  ): Promise<boolean> {
    return this.#run('setting a production approval', async () => {
      const { rowCount } = await this.#pool.query(
        'UPDATE sites SET production_approval = $1, production_requested_by = $2, production_approval_at = $3 WHERE site_id = $4',
        [requireApproval(approval), optionalSerial(requestedBy), at, siteId],
      );
      return (rowCount ?? 0) > 0;
    });
  }

  async updateProductionApproval(siteId: string, from: ProductionRequestState, to: ProductionRequestState, at: string): Promise<boolean> {
    return this.#run('updating a production approval', async () => {
      // One statement: a concurrent update of the same row waits, then re-checks the WHERE on the new row.
      const { rowCount } = await this.#pool.query(
        `UPDATE sites SET production_approval = $1, production_requested_by = $2, production_approval_at = $3
         WHERE site_id = $4 AND production_approval = $5 AND production_requested_by IS NOT DISTINCT FROM $6`,
        approvalChangeValues(siteId, from, to, at),
      );
      return (rowCount ?? 0) > 0;
    });
  }

  async recordCertificate(record: NewCertificate): Promise<void> {
    await this.#run('recording a certificate', () => certificates.recordCertificate(this.#transaction, record));
  }

  async getCertificate(serialHex: string): Promise<CertificateRecord | null> {
    return this.#run('reading a certificate', () => certificates.getCertificate(this.#pool, serialHex));
  }

  async listCertificates(siteId: string): Promise<CertificateRecord[]> {
    return this.#run('listing certificates', () => certificates.listCertificates(this.#pool, siteId));
  }

  async revokeCertificate(serialHex: string, input: { at: string; by: string; reason: string }): Promise<boolean> {
    return this.#run('revoking a certificate', () => certificates.revokeCertificate(this.#pool, serialHex, input));
  }

  async revokeLineage(input: LineageRevocation): Promise<string[]> {
    return this.#run('revoking certificates', () => certificates.revokeLineage(this.#transaction, input));
  }

  async touchCertificate(serialHex: string, at: string): Promise<void> {
    await this.#run('noting a certificate as seen', () => certificates.touchCertificate(this.#pool, serialHex, at));
  }

  async useNonce(siteId: string, nonce: string, at: string): Promise<boolean> {
    return this.#run('recording a nonce', async () => {
      const { rowCount } = await this.#pool.query(
        'INSERT INTO nonces (site_id, nonce, used_at) VALUES ($1, $2, $3) ON CONFLICT (site_id, nonce) DO NOTHING',
        [requireText(siteId, 'siteId'), requireText(nonce, 'nonce'), at],
      );
      return rowCount === 1;
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (!this.#ownsPool) return;
    try {
      await this.#pool.end();
    } catch (error) {
      throw pgStorageFailure(error, 'closing the database');
    }
  }

  #run<T>(operation: string, body: () => Promise<T>): Promise<T> {
    return runPostgres(this.#closed, operation, body);
  }

  readonly #transaction = <T>(operation: string, body: (client: pg.PoolClient) => Promise<T>): Promise<T> =>
    pgTransaction(this.#pool, () => this.#closed, operation, body);
}
