import type BetterSqlite3 from 'better-sqlite3';
import { KeybridgeError } from '../../errors.ts';

/**
 * Versioned schema for the SQLite storage. Each migration runs once, in its own
 * transaction, and is recorded in `schema_migrations`. Append new entries; never edit
 * one that has shipped.
 */
export const SQLITE_MIGRATIONS: readonly { version: number; name: string; sql: string }[] = [
  {
    version: 1,
    name: 'vaults, secrets, append-only audit',
    sql: `
      CREATE TABLE vaults (
        vault_id        TEXT PRIMARY KEY,
        site_id         TEXT NOT NULL,
        environment     TEXT NOT NULL CHECK (environment IN ('development', 'production')),
        region          TEXT NOT NULL,
        sealed_data_key BLOB NOT NULL,
        root_key_id     TEXT NOT NULL,
        created_at      TEXT NOT NULL,
        UNIQUE (site_id, environment, region)
      ) STRICT;

      -- A deleted secret keeps its row (blobs cleared) so versions are never reused.
      CREATE TABLE secrets (
        vault_id   TEXT NOT NULL REFERENCES vaults (vault_id),
        key_id     TEXT NOT NULL,
        meta       BLOB,
        value      BLOB,
        version    INTEGER NOT NULL CHECK (version >= 1),
        updated_at TEXT NOT NULL,
        reads      INTEGER NOT NULL DEFAULT 0,
        deleted    INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1)),
        PRIMARY KEY (vault_id, key_id),
        CHECK (deleted = 1 OR (meta IS NOT NULL AND value IS NOT NULL))
      ) STRICT;

      CREATE TABLE audit (
        seq      INTEGER PRIMARY KEY AUTOINCREMENT,
        at       TEXT NOT NULL,
        actor    TEXT NOT NULL,
        op       TEXT NOT NULL,
        vault_id TEXT,
        key_id   TEXT,
        result   TEXT NOT NULL
      ) STRICT;
      CREATE INDEX audit_by_vault_key ON audit (vault_id, key_id, seq);

      CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
      BEGIN SELECT RAISE(ABORT, 'the keybridge audit log is append-only'); END;
      CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
      BEGIN SELECT RAISE(ABORT, 'the keybridge audit log is append-only'); END;
    `,
  },
  {
    version: 2,
    name: 'registry: accounts, sites, certificates, nonces',
    sql: `
      CREATE TABLE accounts (
        account_id    TEXT PRIMARY KEY,
        email         TEXT NOT NULL UNIQUE,
        password_hash TEXT NOT NULL,
        created_at    TEXT NOT NULL
      ) STRICT;

      CREATE TABLE sites (
        site_id                TEXT PRIMARY KEY,
        account_id             TEXT NOT NULL REFERENCES accounts (account_id),
        name                   TEXT NOT NULL,
        region                 TEXT NOT NULL,
        partner                TEXT,
        production_approval    TEXT NOT NULL DEFAULT 'none'
          CHECK (production_approval IN ('none', 'pending', 'approved', 'denied')),
        production_approval_at TEXT,
        created_at             TEXT NOT NULL
      ) STRICT;
      CREATE INDEX sites_by_account ON sites (account_id);
      CREATE INDEX sites_by_approval ON sites (production_approval);

      CREATE TABLE certificates (
        serial_hex         TEXT PRIMARY KEY,
        site_id            TEXT NOT NULL REFERENCES sites (site_id),
        environment        TEXT NOT NULL CHECK (environment IN ('development', 'production')),
        fingerprint_sha256 TEXT NOT NULL,
        not_before         TEXT NOT NULL,
        not_after          TEXT NOT NULL,
        issued_at          TEXT NOT NULL,
        revoked_at         TEXT,
        revoked_by         TEXT,
        revocation_reason  TEXT,
        replaces_serial    TEXT REFERENCES certificates (serial_hex),
        CHECK ((revoked_at IS NULL) = (revoked_by IS NULL) AND (revoked_at IS NULL) = (revocation_reason IS NULL))
      ) STRICT;
      CREATE INDEX certificates_by_site ON certificates (site_id, issued_at);

      -- A revocation is final: it cannot be undone or rewritten, even behind the interface.
      CREATE TRIGGER certificates_revocation_final BEFORE UPDATE ON certificates
      WHEN OLD.revoked_at IS NOT NULL AND (NEW.revoked_at IS NOT OLD.revoked_at
        OR NEW.revoked_by IS NOT OLD.revoked_by OR NEW.revocation_reason IS NOT OLD.revocation_reason)
      BEGIN SELECT RAISE(ABORT, 'a keybridge certificate revocation is final'); END;

      -- One row per nonce a site used in a production request; a second use is a replay.
      CREATE TABLE nonces (
        site_id TEXT NOT NULL,
        nonce   TEXT NOT NULL,
        used_at TEXT NOT NULL,
        PRIMARY KEY (site_id, nonce)
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX nonces_by_time ON nonces (used_at);
    `,
  },
  {
    // Root key rotation (server/root-rotation.ts): which root keys exist and in which state,
    // so a rotation interrupted at any point can be finished. The partial unique index
    // allows at most one pending, one active and one retiring key.
    version: 3,
    name: 'root keys, for root key rotation',
    sql: `
      CREATE TABLE root_keys (
        key_id     TEXT PRIMARY KEY,
        kind       TEXT NOT NULL CHECK (kind IN ('software', 'pkcs11')),
        locator    TEXT NOT NULL,
        state      TEXT NOT NULL CHECK (state IN ('pending', 'active', 'retiring', 'destroyed')),
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      ) STRICT;
      CREATE UNIQUE INDEX root_keys_one_per_state ON root_keys (state) WHERE state <> 'destroyed';
      CREATE INDEX vaults_by_root_key ON vaults (root_key_id);
    `,
  },
  {
    // Certificate lineage (DESIGN.md, Certificates): where each certificate came from, when a
    // renewal's overlap ends for the one it replaced, when it was last seen; and the serial a
    // site's one open production request is about (the operator approves a request, not a
    // site). Rows of earlier versions get the origin their parent implies.
    version: 4,
    name: 'certificate lineage, per-request production approval',
    sql: `
      ALTER TABLE certificates ADD COLUMN origin TEXT NOT NULL DEFAULT 'registration'
        CHECK (origin IN ('registration', 'renewal', 'custom', 'production', 'production-host', 'partner-binding', 'reissue'));
      ALTER TABLE certificates ADD COLUMN superseded_at TEXT;
      ALTER TABLE certificates ADD COLUMN last_seen_at TEXT;
      UPDATE certificates SET origin = CASE
        WHEN (SELECT s.partner FROM sites s WHERE s.site_id = certificates.site_id) IS NOT NULL THEN 'partner-binding'
        WHEN replaces_serial IS NULL THEN 'registration'
        WHEN environment = 'production'
          AND (SELECT p.environment FROM certificates p WHERE p.serial_hex = certificates.replaces_serial) = 'development' THEN 'production'
        ELSE 'renewal' END;
      CREATE INDEX certificates_by_lineage ON certificates (site_id, environment, issued_at);

      ALTER TABLE sites ADD COLUMN production_requested_by TEXT;
    `,
  },
];

export const SQLITE_SCHEMA_VERSION = SQLITE_MIGRATIONS[SQLITE_MIGRATIONS.length - 1].version;

/** Brings the database up to `SQLITE_SCHEMA_VERSION`; refuses a database from a newer keybridge. */
export function migrateSqlite(db: BetterSqlite3.Database, now: () => string): void {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at TEXT NOT NULL
  ) STRICT`);
  const current = (): number => (db.prepare('SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations').get() as { v: number }).v;
  const found = current();
  if (found > SQLITE_SCHEMA_VERSION) {
    throw new KeybridgeError(
      'storage-failure',
      `the database schema is version ${found}, newer than this keybridge understands (${SQLITE_SCHEMA_VERSION}); upgrade keybridge`,
    );
  }
  for (const migration of SQLITE_MIGRATIONS) {
    // Re-checked inside an IMMEDIATE transaction: two processes opening one new file at
    // once must not both apply a migration.
    db.transaction(() => {
      if (current() >= migration.version) return;
      db.exec(migration.sql);
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(
        migration.version,
        migration.name,
        now(),
      );
    }).immediate();
  }
}
