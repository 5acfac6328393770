import type pg from 'pg';
import { KeybridgeError } from '../../errors.ts';
import { ENVIRONMENTS } from '../../protocol/keyservice.ts';
import { PostgresStorage, openPostgresStorage, type PostgresStorageOptions } from './storage.ts';
import { pgStorageFailure, runPostgres } from './errors.ts';
import { CERTIFICATE_COLUMNS, SITE_COLUMNS, type Row } from '../registry-rows.ts';
import { accountFromRow, certificateFromRow, requireText, siteFromRow } from '../registry-rows.ts';
import {
  canonicalSerial,
  newAccountId,
  newSiteId,
  normalizeEmail,
  requireApproval,
  requireSerial,
  type AccountRecord,
  type CertificateRecord,
  type NewCertificate,
  type ProductionApproval,
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

const RECORD_ATTEMPTS = 3;

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

  async createSite(input: { accountId: string; name: string; region: string; partner?: string | null; at: string }): Promise<SiteRecord> {
    return this.#run('creating a site', async () => {
      const record: SiteRecord = {
        siteId: newSiteId(),
        accountId: input.accountId,
        name: requireText(input.name, 'name'),
        region: requireText(input.region, 'region'),
        partner: input.partner ?? null,
        productionApproval: 'none',
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

  async setProductionApproval(siteId: string, approval: ProductionApproval, at: string): Promise<boolean> {
    return this.#run('setting a production approval', async () => {
      const { rowCount } = await this.#pool.query(
        'UPDATE sites SET production_approval = $1, production_approval_at = $2 WHERE site_id = $3',
        [requireApproval(approval), at, siteId],
      );
      return (rowCount ?? 0) > 0;
    });
  }

  async recordCertificate(record: NewCertificate): Promise<void> {
    await this.#run('recording a certificate', async () => {
      const serial = requireSerial(record.serialHex, 'serialHex');
      const replaces = record.replacesSerial == null ? null : requireSerial(record.replacesSerial, 'replacesSerial');
      if (!ENVIRONMENTS.includes(record.environment)) {
        throw new KeybridgeError('invalid-field', 'unknown environment', { field: 'environment' });
      }
      for (let attempt = 1; ; attempt += 1) {
        // The site and replacement checks and the insert are one statement; when it inserts
        // nothing, later reads say why, in SQLite's order (site, replacement, serial).
        const { rowCount } = await this.#pool.query(
          `INSERT INTO certificates (serial_hex, site_id, environment, fingerprint_sha256, not_before, not_after,
             issued_at, replaces_serial)
           SELECT $1, s.site_id, $3, $4, $5, $6, $7, $8 FROM sites s
           WHERE s.site_id = $2 AND ($8::text IS NULL
             OR EXISTS (SELECT 1 FROM certificates c WHERE c.serial_hex = $8::text AND c.site_id = s.site_id))
           ON CONFLICT (serial_hex) DO NOTHING`,
          [
            serial,
            record.siteId,
            record.environment,
            record.fingerprintSha256,
            record.notBefore,
            record.notAfter,
            record.issuedAt,
            replaces,
          ],
        );
        if (rowCount === 1) return;
        const refusal = await this.#whyNotRecorded(serial, record.siteId, replaces);
        if (refusal) throw refusal;
        // Nothing explains it: a site or replaced certificate committed after the insert's
        // snapshot was taken. Try again, on a newer snapshot.
        if (attempt >= RECORD_ATTEMPTS) {
          throw new KeybridgeError('storage-failure', 'recording a certificate: concurrent writes kept conflicting');
        }
      }
    });
  }

  async getCertificate(serialHex: string): Promise<CertificateRecord | null> {
    return this.#run('reading a certificate', async () => {
      const serial = canonicalSerial(serialHex);
      if (serial === null) return null;
      const { rows } = await this.#pool.query<Row>(`SELECT ${CERTIFICATE_COLUMNS} FROM certificates WHERE serial_hex = $1`, [serial]);
      return rows.length ? certificateFromRow(rows[0]) : null;
    });
  }

  async listCertificates(siteId: string): Promise<CertificateRecord[]> {
    return this.#run('listing certificates', async () => {
      const { rows } = await this.#pool.query<Row>(
        `SELECT ${CERTIFICATE_COLUMNS} FROM certificates WHERE site_id = $1 ORDER BY issued_at DESC, seq DESC`,
        [siteId],
      );
      return rows.map(certificateFromRow);
    });
  }

  async revokeCertificate(serialHex: string, input: { at: string; by: string; reason: string }): Promise<boolean> {
    return this.#run('revoking a certificate', async () => {
      const serial = canonicalSerial(serialHex);
      if (serial === null) return false;
      // One statement: the first revocation wins, later ones rewrite nothing (a later one that
      // waited on the first's row lock re-evaluates COALESCE on the revoked row).
      const { rowCount } = await this.#pool.query(
        `UPDATE certificates SET revoked_at = COALESCE(revoked_at, $1), revoked_by = COALESCE(revoked_by, $2),
           revocation_reason = COALESCE(revocation_reason, $3)
         WHERE serial_hex = $4`,
        [requireText(input.at, 'at'), requireText(input.by, 'by'), String(input.reason ?? ''), serial],
      );
      return (rowCount ?? 0) > 0;
    });
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

  /** The `invalid-field` refusal that explains an insert that inserted nothing, or null. */
  async #whyNotRecorded(serial: string, siteId: string, replaces: string | null): Promise<KeybridgeError | null> {
    const site = await this.#pool.query('SELECT 1 FROM sites WHERE site_id = $1', [siteId]);
    if (site.rows.length === 0) return new KeybridgeError('invalid-field', 'no such site', { field: 'siteId' });
    if (replaces !== null) {
      const { rows } = await this.#pool.query<Row>('SELECT site_id FROM certificates WHERE serial_hex = $1', [replaces]);
      if (rows.length === 0 || rows[0].site_id !== siteId) {
        return new KeybridgeError('invalid-field', 'no such certificate of this site', { field: 'replacesSerial' });
      }
    }
    const taken = await this.#pool.query('SELECT 1 FROM certificates WHERE serial_hex = $1', [serial]);
    if (taken.rows.length > 0) {
      return new KeybridgeError('invalid-field', `certificate serial ${serial} is already recorded`, { field: 'serialHex' });
    }
    return null;
  }

  #run<T>(operation: string, body: () => Promise<T>): Promise<T> {
    return runPostgres(this.#closed, operation, body);
  }
}
