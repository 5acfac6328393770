import type pg from 'pg';
import { KeybridgeError } from '../../errors.ts';

/**
 * Versioned schema for the PostgreSQL storage. Each migration runs once, in its own
 * transaction, and is recorded in `keybridge_schema_migrations`. Several server nodes may
 * start at once: they migrate one after the other under a session advisory lock, and the
 * later ones find nothing left to do. Append new entries; never edit one that has shipped.
 *
 * Text that is compared or ordered (key ids, audit times) uses the "C" collation, so order
 * is bytewise whatever the database's locale (as in SQLite).
 */
export const POSTGRES_MIGRATIONS: readonly { version: number; name: string; sql: string }[] = [
  {
    version: 1,
    name: 'vaults, secrets, append-only audit',
    sql: `
      CREATE TABLE vaults (
        vault_id        text PRIMARY KEY,
        site_id         text NOT NULL,
        environment     text NOT NULL CHECK (environment IN ('development', 'production')),
        region          text NOT NULL,
        sealed_data_key bytea NOT NULL,
        root_key_id     text NOT NULL,
        created_at      text NOT NULL,
        UNIQUE (site_id, environment, region)
      );

      -- A deleted secret keeps its row (blobs cleared) so versions are never reused.
      CREATE TABLE secrets (
        vault_id   text NOT NULL REFERENCES vaults (vault_id),
        key_id     text COLLATE "C" NOT NULL,
        meta       bytea,
        value      bytea,
        version    bigint NOT NULL CHECK (version >= 1),
        updated_at text NOT NULL,
        reads      bigint NOT NULL DEFAULT 0,
        deleted    boolean NOT NULL DEFAULT false,
        PRIMARY KEY (vault_id, key_id),
        CHECK (deleted OR (meta IS NOT NULL AND value IS NOT NULL))
      );

      CREATE TABLE audit (
        seq      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        at       text COLLATE "C" NOT NULL,
        actor    text NOT NULL,
        op       text NOT NULL,
        vault_id text,
        key_id   text,
        result   text NOT NULL
      );
      CREATE INDEX audit_by_vault_key ON audit (vault_id, key_id, seq);

      CREATE FUNCTION keybridge_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'the keybridge audit log is append-only';
      END
      $$;
      CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
        FOR EACH ROW EXECUTE FUNCTION keybridge_audit_append_only();
      CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
        FOR EACH ROW EXECUTE FUNCTION keybridge_audit_append_only();
      CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit
        FOR EACH STATEMENT EXECUTE FUNCTION keybridge_audit_append_only();
    `,
  },
  {
    // The registry (see registry.ts), as SQLite's migration 2. Emails are stored
    // normalized (trimmed, lowercased) by the code; the "C" collation makes lower() fold
    // ASCII only and never change with the server's locale, so the unique index on
    // lower(email) is stable. \`seq\` breaks ties in listing order where SQLite uses rowid.
    version: 2,
    name: 'registry: accounts, sites, certificates, nonces',
    sql: `
      CREATE TABLE accounts (
        account_id    text PRIMARY KEY,
        email         text COLLATE "C" NOT NULL,
        password_hash text NOT NULL,
        created_at    text COLLATE "C" NOT NULL
      );
      CREATE UNIQUE INDEX accounts_email_key ON accounts (lower(email));

      CREATE TABLE sites (
        site_id                text PRIMARY KEY,
        seq                    bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
        account_id             text NOT NULL REFERENCES accounts (account_id),
        name                   text NOT NULL,
        region                 text NOT NULL,
        partner                text,
        production_approval    text NOT NULL DEFAULT 'none'
          CHECK (production_approval IN ('none', 'pending', 'approved', 'denied')),
        production_approval_at text,
        created_at             text COLLATE "C" NOT NULL
      );
      CREATE INDEX sites_by_account ON sites (account_id);
      CREATE INDEX sites_by_approval ON sites (production_approval);

      CREATE TABLE certificates (
        serial_hex         text COLLATE "C" PRIMARY KEY,
        seq                bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
        site_id            text NOT NULL REFERENCES sites (site_id),
        environment        text NOT NULL CHECK (environment IN ('development', 'production')),
        fingerprint_sha256 text NOT NULL,
        not_before         text NOT NULL,
        not_after          text NOT NULL,
        issued_at          text COLLATE "C" NOT NULL,
        revoked_at         text,
        revoked_by         text,
        revocation_reason  text,
        replaces_serial    text COLLATE "C" REFERENCES certificates (serial_hex),
        CHECK ((revoked_at IS NULL) = (revoked_by IS NULL) AND (revoked_at IS NULL) = (revocation_reason IS NULL))
      );
      CREATE INDEX certificates_by_site ON certificates (site_id, issued_at);

      -- A revocation is final: it cannot be undone or rewritten, even behind the interface.
      CREATE FUNCTION keybridge_revocation_final() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'a keybridge certificate revocation is final';
      END
      $$;
      CREATE TRIGGER certificates_revocation_final BEFORE UPDATE ON certificates
        FOR EACH ROW
        WHEN (OLD.revoked_at IS NOT NULL AND (NEW.revoked_at IS DISTINCT FROM OLD.revoked_at
          OR NEW.revoked_by IS DISTINCT FROM OLD.revoked_by
          OR NEW.revocation_reason IS DISTINCT FROM OLD.revocation_reason))
        EXECUTE FUNCTION keybridge_revocation_final();

      -- One row per nonce a site used in a production request; a second use is a replay.
      CREATE TABLE nonces (
        site_id text COLLATE "C" NOT NULL,
        nonce   text COLLATE "C" NOT NULL,
        used_at text COLLATE "C" NOT NULL,
        PRIMARY KEY (site_id, nonce)
      );
      CREATE INDEX nonces_by_time ON nonces (used_at);
    `,
  },
  {
    // Root key rotation, as SQLite's migration 3. `seq` keeps listing order stable.
    version: 3,
    name: 'root keys, for root key rotation',
    sql: `
      CREATE TABLE root_keys (
        key_id     text COLLATE "C" PRIMARY KEY,
        seq        bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
        kind       text NOT NULL CHECK (kind IN ('software', 'pkcs11')),
        locator    text NOT NULL,
        state      text NOT NULL CHECK (state IN ('pending', 'active', 'retiring', 'destroyed')),
        created_at text COLLATE "C" NOT NULL,
        updated_at text NOT NULL
      );
      CREATE UNIQUE INDEX root_keys_one_per_state ON root_keys (state) WHERE state <> 'destroyed';
      CREATE INDEX vaults_by_root_key ON vaults (root_key_id);
    `,
  },
  {
    // Certificate lineage and per-request production approval, as SQLite's migration 4.
    version: 4,
    name: 'certificate lineage, per-request production approval',
    sql: `
      ALTER TABLE certificates ADD COLUMN origin text NOT NULL DEFAULT 'registration'
        CHECK (origin IN ('registration', 'renewal', 'custom', 'production', 'production-host', 'partner-binding', 'reissue'));
      ALTER TABLE certificates ADD COLUMN superseded_at text COLLATE "C";
      ALTER TABLE certificates ADD COLUMN last_seen_at text COLLATE "C";
      UPDATE certificates c SET origin = CASE
        WHEN (SELECT s.partner FROM sites s WHERE s.site_id = c.site_id) IS NOT NULL THEN 'partner-binding'
        WHEN c.replaces_serial IS NULL THEN 'registration'
        WHEN c.environment = 'production'
          AND (SELECT p.environment FROM certificates p WHERE p.serial_hex = c.replaces_serial) = 'development' THEN 'production'
        ELSE 'renewal' END;
      CREATE INDEX certificates_by_lineage ON certificates (site_id, environment, issued_at);

      ALTER TABLE sites ADD COLUMN production_requested_by text COLLATE "C";
    `,
  },
];

export const POSTGRES_SCHEMA_VERSION = POSTGRES_MIGRATIONS[POSTGRES_MIGRATIONS.length - 1].version;

/** Advisory lock keys (class, id): 'kb' and what the lock guards. Scoped to the database. */
export const PG_LOCK_CLASS = 0x6b62;
export const PG_LOCK_MIGRATIONS = 1;
/** Held from a transaction's audit insert to its commit, so `seq` order is commit order. */
export const PG_LOCK_AUDIT = 2;
/** Per site (class, hashtext(site_id)): serialises recording a certificate with revoking its lineage. */
export const PG_LOCK_CLASS_SITE_CERTIFICATES = 0x6b63;

/** Brings the database up to `POSTGRES_SCHEMA_VERSION`; refuses a database from a newer keybridge. */
export async function migratePostgres(pool: pg.Pool, now: () => string): Promise<void> {
  const client = await pool.connect();
  const ignore = (): void => undefined;
  client.on('error', ignore);
  let broken: Error | undefined;
  try {
    await client.query('SELECT pg_advisory_lock($1, $2)', [PG_LOCK_CLASS, PG_LOCK_MIGRATIONS]);
    try {
      await client.query(`CREATE TABLE IF NOT EXISTS keybridge_schema_migrations (
        version    integer PRIMARY KEY,
        name       text NOT NULL,
        applied_at text NOT NULL
      )`);
      const { rows } = await client.query<{ v: number }>('SELECT COALESCE(MAX(version), 0)::integer AS v FROM keybridge_schema_migrations');
      const found = Number(rows[0].v);
      if (found > POSTGRES_SCHEMA_VERSION) {
        throw new KeybridgeError(
          'storage-failure',
          `the database schema is version ${found}, newer than this keybridge understands (${POSTGRES_SCHEMA_VERSION}); upgrade keybridge`,
        );
      }
      for (const migration of POSTGRES_MIGRATIONS) {
        if (migration.version <= found) continue;
        await client.query('BEGIN');
        try {
          await client.query(migration.sql);
          await client.query('INSERT INTO keybridge_schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [
            migration.version,
            migration.name,
            now(),
          ]);
          await client.query('COMMIT');
        } catch (error) {
          await client.query('ROLLBACK').catch(ignore);
          throw error;
        }
      }
    } finally {
      await client.query('SELECT pg_advisory_unlock($1, $2)', [PG_LOCK_CLASS, PG_LOCK_MIGRATIONS]).catch((error: Error) => {
        broken = error;
      });
    }
  } catch (error) {
    broken ??= error instanceof KeybridgeError ? undefined : (error as Error);
    throw error;
  } finally {
    client.removeListener('error', ignore);
    // A client whose unlock failed may still hold the lock: destroy it rather than pool it.
    client.release(broken ?? false);
  }
}
