import type BetterSqlite3 from 'better-sqlite3';
import { KeybridgeError } from '../errors.ts';

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
];

export const SQLITE_SCHEMA_VERSION = SQLITE_MIGRATIONS[SQLITE_MIGRATIONS.length - 1].version;

/** Brings the database up to `SQLITE_SCHEMA_VERSION`; refuses a database from a newer keybridge. */
export function migrateSqlite(db: BetterSqlite3.Database, now: () => string): void {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at TEXT NOT NULL
  ) STRICT`);
  const current = (): number =>
    (db.prepare('SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations').get() as { v: number }).v;
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
