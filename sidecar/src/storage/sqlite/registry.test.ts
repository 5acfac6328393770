import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { registryConformanceSuite } from '../../../test-helpers/registry-conformance/suite.ts';
import { AT, HASH, certificate, newSite } from '../../../test-helpers/registry-conformance/fixtures.ts';
import {
  LINEAGE_MIGRATION_VERSION,
  VERSION_3_ROWS,
  expectVersion3RowsMigrated,
} from '../../../test-helpers/registry-conformance/previous-schema.ts';
import { SqliteRegistry, openSqliteStores } from './registry.ts';
import { SQLITE_MIGRATIONS, SQLITE_SCHEMA_VERSION } from './schema.ts';
import { openSqliteStorage } from './storage.ts';

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'kb-registry-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const REGISTRY_MIGRATION = SQLITE_MIGRATIONS.find((m) => m.name.startsWith('registry'))!;

registryConformanceSuite('sqlite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kb-registry-conf-'));
  const file = join(dir, 'data', 'keybridge.db');
  const stores = await openSqliteStores(file);
  return {
    registry: stores.registry,
    cleanup: async () => {
      await stores.close();
      rmSync(dir, { recursive: true, force: true });
    },
    openPeer: async () => SqliteRegistry.fromDatabase(new Database(file), { ownsDatabase: true }),
  };
});

/** A database as the keybridge before the registry left it: schema up to the previous version, one secret. */
function writePreviousVersionDatabase(file: string): void {
  const db = new Database(file);
  db.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL) STRICT');
  for (const migration of SQLITE_MIGRATIONS.filter((m) => m.version < REGISTRY_MIGRATION.version)) {
    db.exec(migration.sql);
    db.prepare('INSERT INTO schema_migrations VALUES (?, ?, ?)').run(migration.version, migration.name, '2024-12-31T00:00:00.000Z');
  }
  db.prepare(
    `INSERT INTO vaults (vault_id, site_id, environment, region, sealed_data_key, root_key_id, created_at)
     VALUES ('v-old', 'site_old', 'production', 'eu', ?, 'root0001', ?)`,
  ).run(Buffer.from([9, 9, 9]), AT);
  db.prepare(`INSERT INTO secrets (vault_id, key_id, meta, value, version, updated_at) VALUES ('v-old', ?, ?, ?, 3, ?)`).run(
    '1'.repeat(64),
    Buffer.from([1, 2]),
    Buffer.from('sealed-value'),
    AT,
  );
  db.prepare("INSERT INTO audit (at, actor, op, vault_id, key_id, result) VALUES (?, 'CN=old', 'put', 'v-old', ?, 'ok')").run(
    AT,
    '1'.repeat(64),
  );
  db.close();
}

function versions(file: string): { version: number; applied_at: string }[] {
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare('SELECT version, applied_at FROM schema_migrations ORDER BY version').all() as never;
  } finally {
    db.close();
  }
}

describe('SQLite registry specifics', () => {
  it('migrates a database of the previous schema version additively', async () => {
    // Later migrations (root keys, version 3) are applied on top, additively too.
    expect(REGISTRY_MIGRATION.version).toBeLessThanOrEqual(SQLITE_SCHEMA_VERSION);
    const file = join(tempDir(), 'kb.db');
    writePreviousVersionDatabase(file);
    const stores = await openSqliteStores(file);
    const vault = await stores.storage.findVault({ siteId: 'site_old', environment: 'production', region: 'eu' });
    expect(vault).toEqual({ vaultId: 'v-old', sealedDataKey: Uint8Array.from([9, 9, 9]), rootKeyId: 'root0001' });
    const secret = (await stores.storage.getSecrets('v-old', ['1'.repeat(64)])).get('1'.repeat(64));
    expect(secret).toMatchObject({ version: 3, meta: Uint8Array.from([1, 2]), updatedAt: AT });
    expect(Buffer.from(secret!.value).toString()).toBe('sealed-value');
    expect(await stores.storage.listAudit({ vaultId: 'v-old' })).toMatchObject([{ actor: 'CN=old', op: 'put' }]);
    const site = await newSite(stores.registry);
    expect(await stores.registry.getSite(site.siteId)).toEqual(site);
    await stores.close();

    const applied = versions(file);
    expect(applied.map((r) => r.version)).toEqual(SQLITE_MIGRATIONS.map((m) => m.version));
    expect(applied[0].applied_at).toBe('2024-12-31T00:00:00.000Z');
    const storage = await openSqliteStorage(file);
    expect((await storage.getSecrets('v-old', ['1'.repeat(64)])).size).toBe(1);
    await storage.close();
    expect(versions(file)).toEqual(applied);
  });

  it('migrates a registry made before certificate lineage: every row kept, origins inferred, new rules in force', async () => {
    const file = join(tempDir(), 'kb.db');
    const db = new Database(file);
    db.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL) STRICT');
    for (const migration of SQLITE_MIGRATIONS.filter((m) => m.version < LINEAGE_MIGRATION_VERSION)) {
      db.exec(migration.sql);
      db.prepare('INSERT INTO schema_migrations VALUES (?, ?, ?)').run(migration.version, migration.name, 'old');
    }
    for (const statement of VERSION_3_ROWS) db.exec(statement);
    db.close();
    const stores = await openSqliteStores(file);
    try {
      await expectVersion3RowsMigrated(stores.registry);
    } finally {
      await stores.close();
    }
    expect(versions(file).map((r) => r.version)).toEqual(SQLITE_MIGRATIONS.map((m) => m.version));
  });

  it('shares one private database file between the storage and the registry', async () => {
    const file = join(tempDir(), 'state', 'kb.db');
    const stores = await openSqliteStores(file);
    const site = await newSite(stores.registry);
    await stores.storage.ensureVault({ siteId: site.siteId, environment: 'development', region: 'eu' }, async () => ({
      sealedDataKey: new Uint8Array(4),
      rootKeyId: 'r',
    }));
    expect(statSync(file).mode & 0o777).toBe(0o600);
    await stores.close();
    await stores.close();
    await expect(stores.registry.getSite(site.siteId)).rejects.toMatchObject({ type: 'storage-failure' });
    await expect(stores.storage.listAudit()).rejects.toMatchObject({ type: 'storage-failure' });

    const again = await openSqliteStores(file);
    expect(await again.registry.getSite(site.siteId)).toEqual(site);
    expect(await again.storage.findVault({ siteId: site.siteId, environment: 'development', region: 'eu' })).not.toBeNull();
    await again.close();
  });

  it('maps calls on a handle closed by the storage to storage-failure', async () => {
    const stores = await openSqliteStores(join(tempDir(), 'kb.db'));
    await stores.storage.close();
    await expect(stores.registry.listSites()).rejects.toMatchObject({ type: 'storage-failure', message: /closed/ });
    await stores.close();
  });

  it('closes the handle only when it owns it', async () => {
    const file = join(tempDir(), 'kb.db');
    const shared = new Database(file);
    await SqliteRegistry.fromDatabase(shared).close();
    expect(shared.open).toBe(true);
    shared.close();
    const owned = new Database(file);
    await SqliteRegistry.fromDatabase(owned, { ownsDatabase: true }).close();
    expect(owned.open).toBe(false);
  });

  it('refuses to undo or rewrite a revocation behind the interface', async () => {
    const file = join(tempDir(), 'kb.db');
    const stores = await openSqliteStores(file);
    const site = await newSite(stores.registry);
    await stores.registry.recordCertificate(certificate(site.siteId, 'abc'));
    await stores.registry.revokeCertificate('abc', { at: AT, by: 'op', reason: 'lost' });
    const raw = new Database(file);
    try {
      expect(() => raw.prepare('UPDATE certificates SET revoked_at = NULL, revoked_by = NULL, revocation_reason = NULL').run()).toThrow(
        /final/,
      );
      expect(() => raw.prepare("UPDATE certificates SET revoked_by = 'someone'").run()).toThrow(/final/);
      expect(() => raw.prepare("UPDATE certificates SET revoked_at = 'x' WHERE serial_hex = 'abc'").run()).toThrow(/final/);
    } finally {
      raw.close();
    }
    expect(await stores.registry.getCertificate('abc')).toMatchObject({ revokedAt: AT, revokedBy: 'op', revocationReason: 'lost' });
    await stores.close();
  });

  it('keeps the email unique in the schema, not only in the code', async () => {
    const file = join(tempDir(), 'kb.db');
    const stores = await openSqliteStores(file);
    await stores.registry.createAccount({ email: 'a@example.org', passwordHash: HASH, at: AT });
    const raw = new Database(file);
    try {
      expect(() => raw.prepare("INSERT INTO accounts VALUES ('acct_x', 'a@example.org', 'h', ?)").run(AT)).toThrow(/UNIQUE/);
    } finally {
      raw.close();
    }
    await stores.close();
  });
});
