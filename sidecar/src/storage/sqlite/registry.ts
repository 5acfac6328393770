import { resolve } from 'node:path';
import Database from 'better-sqlite3';
import { KeybridgeError } from '../../errors.ts';
import { SqliteStorage, openSqliteStorage, type SqliteStorageOptions } from './storage.ts';
import { runSqlite, storageFailure } from './errors.ts';
import { SITE_COLUMNS, type Row } from '../registry-rows.ts';
import { accountFromRow, approvalChangeValues, optionalSerial, requireText, siteFromRow } from '../registry-rows.ts';
import * as certificates from './registry-certificates.ts';
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
 * The registry on SQLite: the tables live in the same file as the secrets (migration 2 of
 * `schema.ts`) and share its better-sqlite3 handle, pragmas and error mapping.
 * Writes that check before they insert run in IMMEDIATE transactions, so a second process
 * on the same file cannot slip in between.
 */
export interface SqliteRegistryOptions extends SqliteStorageOptions {
  /** Whether `close()` closes the database handle (default false: the handle is shared). */
  ownsDatabase?: boolean;
}

/** The secrets storage and the registry on one database handle, closed once. */
export interface SqliteStores {
  storage: SqliteStorage;
  registry: SqliteRegistry;
  /** Closes the registry, then the storage (which closes the handle). */
  close(): Promise<void>;
}

/** Opens (creating and migrating if needed) one database file for both stores. */
export async function openSqliteStores(file: string, options: SqliteStorageOptions = {}): Promise<SqliteStores> {
  const path = resolve(file);
  // openSqliteStorage creates the directory (0700) and file (0600) and migrates; reopen
  // one handle that both stores share.
  await (await openSqliteStorage(path, options)).close();
  let db: Database.Database;
  try {
    db = new Database(path, { fileMustExist: true });
  } catch (error) {
    throw storageFailure(error, `opening ${path}`);
  }
  try {
    const storage = SqliteStorage.fromDatabase(db, options);
    const registry = SqliteRegistry.fromDatabase(db, { ...options, ownsDatabase: false });
    return {
      storage,
      registry,
      close: async () => {
        await registry.close();
        await storage.close();
      },
    };
  } catch (error) {
    db.close();
    throw error;
  }
}

export class SqliteRegistry implements Registry {
  readonly #db: Database.Database;
  readonly #ownsDatabase: boolean;
  #closed = false;

  private constructor(db: Database.Database, ownsDatabase: boolean) {
    this.#db = db;
    this.#ownsDatabase = ownsDatabase;
  }

  /**
   * Prepares `db` exactly as the secrets storage does (pragmas, migrations: both idempotent,
   * set in one place, `SqliteStorage.fromDatabase`) and wraps it.
   */
  static fromDatabase(db: Database.Database, options: SqliteRegistryOptions = {}): SqliteRegistry {
    SqliteStorage.fromDatabase(db, options);
    return new SqliteRegistry(db, options.ownsDatabase ?? false);
  }

  async createAccount(input: { email: string; passwordHash: string; at: string }): Promise<AccountRecord> {
    return this.#run('creating an account', () => {
      const record: AccountRecord = {
        accountId: newAccountId(),
        email: normalizeEmail(input.email),
        passwordHash: requireText(input.passwordHash, 'passwordHash'),
        createdAt: input.at,
      };
      const { changes } = this.#db
        .prepare(
          `INSERT INTO accounts (account_id, email, password_hash, created_at) VALUES (?, ?, ?, ?)
           ON CONFLICT (email) DO NOTHING`,
        )
        .run(record.accountId, record.email, record.passwordHash, record.createdAt);
      if (changes === 0) throw new KeybridgeError('account-exists', undefined, { field: 'email' });
      return record;
    });
  }

  async findAccountByEmail(email: string): Promise<AccountRecord | null> {
    return this.#run('reading an account', () => {
      const normalized = String(email).trim().toLowerCase();
      const row = this.#db.prepare('SELECT account_id, email, password_hash, created_at FROM accounts WHERE email = ?').get(normalized) as
        Row | undefined;
      return row ? accountFromRow(row) : null;
    });
  }

  async getAccount(accountId: string): Promise<AccountRecord | null> {
    return this.#run('reading an account', () => {
      const row = this.#db
        .prepare('SELECT account_id, email, password_hash, created_at FROM accounts WHERE account_id = ?')
        .get(String(accountId)) as Row | undefined;
      return row ? accountFromRow(row) : null;
    });
  }

  async setAccountPassword(accountId: string, passwordHash: string): Promise<boolean> {
    return this.#run('setting an account password', () => {
      const { changes } = this.#db
        .prepare('UPDATE accounts SET password_hash = ? WHERE account_id = ?')
        .run(requireText(passwordHash, 'passwordHash'), String(accountId));
      return changes > 0;
    });
  }

  async createSite(input: { accountId: string; name: string; region: string; partner?: string | null; at: string }): Promise<SiteRecord> {
    return this.#run('creating a site', () => {
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
      this.#db
        .transaction(() => {
          if (!this.#db.prepare('SELECT 1 FROM accounts WHERE account_id = ?').get(record.accountId)) {
            throw new KeybridgeError('invalid-field', 'no such account', { field: 'accountId' });
          }
          this.#db
            .prepare(
              `INSERT INTO sites (site_id, account_id, name, region, partner, production_approval, created_at)
               VALUES (?, ?, ?, ?, ?, 'none', ?)`,
            )
            .run(record.siteId, record.accountId, record.name, record.region, record.partner, record.createdAt);
        })
        .immediate();
      return record;
    });
  }

  async getSite(siteId: string): Promise<SiteRecord | null> {
    return this.#run('reading a site', () => {
      const row = this.#db.prepare(`SELECT ${SITE_COLUMNS} FROM sites WHERE site_id = ?`).get(siteId) as Row | undefined;
      return row ? siteFromRow(row) : null;
    });
  }

  async listSites(filter: SiteFilter = {}): Promise<SiteRecord[]> {
    return this.#run('listing sites', () => {
      const where: string[] = [];
      const params: unknown[] = [];
      if (filter.accountId !== undefined) {
        where.push('account_id = ?');
        params.push(filter.accountId);
      }
      if (filter.productionApproval !== undefined) {
        where.push('production_approval = ?');
        params.push(requireApproval(filter.productionApproval));
      }
      const sql = `SELECT ${SITE_COLUMNS} FROM sites ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY created_at, rowid`;
      return (this.#db.prepare(sql).all(...params) as Row[]).map(siteFromRow);
    });
  }

  async setProductionApproval(
    siteId: string,
    approval: ProductionApproval,
    at: string,
    requestedBy: string | null = null,
  ): Promise<boolean> {
    return this.#run('setting a production approval', () => {
      const { changes } = this.#db
        .prepare('UPDATE sites SET production_approval = ?, production_requested_by = ?, production_approval_at = ? WHERE site_id = ?')
        .run(requireApproval(approval), optionalSerial(requestedBy), at, siteId);
      return changes > 0;
    });
  }

  async updateProductionApproval(siteId: string, from: ProductionRequestState, to: ProductionRequestState, at: string): Promise<boolean> {
    return this.#run('updating a production approval', () => {
      const { changes } = this.#db
        .prepare(
          `UPDATE sites SET production_approval = ?, production_requested_by = ?, production_approval_at = ?
           WHERE site_id = ? AND production_approval = ? AND production_requested_by IS ?`,
        )
        .run(...approvalChangeValues(siteId, from, to, at));
      return changes > 0;
    });
  }

  async recordCertificate(record: NewCertificate): Promise<void> {
    this.#run('recording a certificate', () => certificates.recordCertificate(this.#db, record));
  }

  async getCertificate(serialHex: string): Promise<CertificateRecord | null> {
    return this.#run('reading a certificate', () => certificates.getCertificate(this.#db, serialHex));
  }

  async listCertificates(siteId: string): Promise<CertificateRecord[]> {
    return this.#run('listing certificates', () => certificates.listCertificates(this.#db, siteId));
  }

  async revokeCertificate(serialHex: string, input: { at: string; by: string; reason: string }): Promise<boolean> {
    return this.#run('revoking a certificate', () => certificates.revokeCertificate(this.#db, serialHex, input));
  }

  async revokeLineage(input: LineageRevocation): Promise<string[]> {
    return this.#run('revoking certificates', () => certificates.revokeLineage(this.#db, input));
  }

  async touchCertificate(serialHex: string, at: string): Promise<void> {
    this.#run('noting a certificate as seen', () => certificates.touchCertificate(this.#db, serialHex, at));
  }

  async useNonce(siteId: string, nonce: string, at: string): Promise<boolean> {
    return this.#run('recording a nonce', () => {
      const { changes } = this.#db
        .prepare('INSERT INTO nonces (site_id, nonce, used_at) VALUES (?, ?, ?) ON CONFLICT (site_id, nonce) DO NOTHING')
        .run(requireText(siteId, 'siteId'), requireText(nonce, 'nonce'), at);
      return changes === 1;
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (!this.#ownsDatabase) return;
    try {
      this.#db.close();
    } catch (error) {
      throw storageFailure(error, 'closing the database');
    }
  }

  #run<T>(operation: string, body: () => T): T {
    return runSqlite(this.#closed, operation, body);
  }
}
