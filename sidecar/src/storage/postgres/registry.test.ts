import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { postgresForTestFile, sql } from '../../../test-helpers/postgres.ts';
import { openPostgresStorage } from './storage.ts';
import { POSTGRES_MIGRATIONS } from './schema.ts';
import { registryConformanceSuite } from '../../../test-helpers/registry-conformance/suite.ts';
import { AT, HASH, certificate, newSite } from '../../../test-helpers/registry-conformance/fixtures.ts';
import {
  LINEAGE_MIGRATION_VERSION,
  VERSION_3_ROWS,
  expectVersion3RowsMigrated,
} from '../../../test-helpers/registry-conformance/previous-schema.ts';
import { openPostgresRegistry, openPostgresStores } from './registry.ts';

// One real server for the whole file, a fresh schema for every harness.
const { server, freshSchema } = postgresForTestFile(mkdtempSync(join(tmpdir(), 'kb-pg-registry-')));

const REGISTRY_MIGRATION = POSTGRES_MIGRATIONS.find((m) => m.name.startsWith('registry'))!;
const VAULT = { siteId: 'site_old', environment: 'production', region: 'eu' } as const;
const sealed = async () => ({ sealedDataKey: Uint8Array.from([9, 9, 9]), rootKeyId: 'root0001' });

registryConformanceSuite('postgres', async () => {
  const db = await freshSchema();
  const stores = await openPostgresStores(db.url);
  return {
    registry: stores.registry,
    cleanup: async () => {
      await stores.close();
      await db.drop();
    },
    // A second node: its own pool on the same schema.
    openPeer: () => openPostgresRegistry(db.url),
  };
});

describe('PostgreSQL registry specifics', () => {
  it('shares one pool between the storage and the registry, ended once', async () => {
    const db = await freshSchema();
    try {
      // The URL's application_name overrides the pool's, so this pool's sessions can be counted.
      const tagged = new URL(db.url);
      tagged.searchParams.set('application_name', db.name);
      const stores = await openPostgresStores(tagged.toString(), { maxConnections: 1 });
      const sites = await Promise.all(Array.from({ length: 5 }, () => newSite(stores.registry)));
      const vaults = await Promise.all(
        sites.map((site) => stores.storage.ensureVault({ siteId: site.siteId, environment: 'development', region: 'eu' }, sealed)),
      );
      expect(new Set(vaults.map((v) => v.vaultId)).size).toBe(5);
      await stores.storage.appendAudit({ at: AT, actor: 'CN=op', op: 'put', result: 'ok' });
      expect(await stores.registry.listSites()).toHaveLength(5);
      const sessions = await sql(db.url, 'SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1', [db.name]);
      expect(sessions[0].n).toBe(1);

      await stores.close();
      await stores.close();
      await expect(stores.registry.getSite(sites[0].siteId)).rejects.toMatchObject({ type: 'storage-failure' });
      await expect(stores.storage.listAudit()).rejects.toMatchObject({ type: 'storage-failure' });

      const again = await openPostgresStores(db.url);
      expect(await again.registry.getSite(sites[0].siteId)).toEqual(sites[0]);
      expect((await again.storage.findVault({ siteId: sites[0].siteId, environment: 'development', region: 'eu' }))?.vaultId).toBe(
        vaults[0].vaultId,
      );
      // The storage ends the shared pool: the registry then fails cleanly, as closed.
      await again.storage.close();
      await expect(again.registry.listSites()).rejects.toMatchObject({ type: 'storage-failure', message: /closed/ });
      await again.close();
    } finally {
      await db.drop();
    }
  });

  it('migrates once when a registry, a storage and both stores open a new schema at once', async () => {
    const db = await freshSchema();
    try {
      const [stores, registry, storage] = await Promise.all([
        openPostgresStores(db.url),
        openPostgresRegistry(db.url),
        openPostgresStorage(db.url),
      ]);
      const site = await newSite(registry);
      expect(await stores.registry.getSite(site.siteId)).toEqual(site);
      await storage.ensureVault({ siteId: site.siteId, environment: 'production', region: 'eu' }, sealed);
      await Promise.all([stores.close(), registry.close(), storage.close()]);
      const rows = await sql(db.url, 'SELECT version FROM keybridge_schema_migrations ORDER BY version');
      expect(rows.map((r) => r.version)).toEqual(POSTGRES_MIGRATIONS.map((m) => m.version));
      const triggers = await sql(db.url, "SELECT tgname FROM pg_trigger WHERE tgrelid = 'certificates'::regclass AND NOT tgisinternal");
      expect(triggers.map((r) => r.tgname)).toEqual(['certificates_revocation_final']);
    } finally {
      await db.drop();
    }
  });

  it('migrates a database of the previous schema version additively', async () => {
    const db = await freshSchema();
    try {
      await sql(
        db.url,
        'CREATE TABLE keybridge_schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at text NOT NULL)',
      );
      for (const migration of POSTGRES_MIGRATIONS.filter((m) => m.version < REGISTRY_MIGRATION.version)) {
        await sql(db.url, migration.sql);
        await sql(db.url, 'INSERT INTO keybridge_schema_migrations VALUES ($1, $2, $3)', [migration.version, migration.name, 'old']);
      }
      await sql(
        db.url,
        `INSERT INTO vaults (vault_id, site_id, environment, region, sealed_data_key, root_key_id, created_at)
         VALUES ('v-old', 'site_old', 'production', 'eu', '\\x090909', 'root0001', $1)`,
        [AT],
      );

      const stores = await openPostgresStores(db.url);
      expect(await stores.storage.findVault(VAULT)).toEqual({
        vaultId: 'v-old',
        sealedDataKey: Uint8Array.from([9, 9, 9]),
        rootKeyId: 'root0001',
      });
      const site = await newSite(stores.registry);
      expect(await stores.registry.getSite(site.siteId)).toEqual(site);
      await stores.close();
      const rows = await sql(db.url, 'SELECT version, applied_at FROM keybridge_schema_migrations ORDER BY version');
      expect(rows.map((r) => r.version)).toEqual(POSTGRES_MIGRATIONS.map((m) => m.version));
      expect(rows[0].applied_at).toBe('old');
    } finally {
      await db.drop();
    }
  });

  it('migrates a registry made before certificate lineage: every row kept, origins inferred, new rules in force', async () => {
    const db = await freshSchema();
    try {
      await sql(
        db.url,
        'CREATE TABLE keybridge_schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at text NOT NULL)',
      );
      for (const migration of POSTGRES_MIGRATIONS.filter((m) => m.version < LINEAGE_MIGRATION_VERSION)) {
        await sql(db.url, migration.sql);
        await sql(db.url, 'INSERT INTO keybridge_schema_migrations VALUES ($1, $2, $3)', [migration.version, migration.name, 'old']);
      }
      for (const statement of VERSION_3_ROWS) await sql(db.url, statement);
      const stores = await openPostgresStores(db.url);
      try {
        await expectVersion3RowsMigrated(stores.registry);
      } finally {
        await stores.close();
      }
      const rows = await sql(db.url, 'SELECT version FROM keybridge_schema_migrations ORDER BY version');
      expect(rows.map((r) => r.version)).toEqual(POSTGRES_MIGRATIONS.map((m) => m.version));
    } finally {
      await db.drop();
    }
  });

  it('refuses to undo or rewrite a revocation behind the interface', async () => {
    const db = await freshSchema();
    const stores = await openPostgresStores(db.url);
    try {
      const site = await newSite(stores.registry);
      await stores.registry.recordCertificate(certificate(site.siteId, 'abc'));
      await stores.registry.recordCertificate(certificate(site.siteId, 'abd'));
      await stores.registry.revokeCertificate('abc', { at: AT, by: 'op', reason: 'lost' });
      for (const update of [
        'UPDATE certificates SET revoked_at = NULL, revoked_by = NULL, revocation_reason = NULL',
        "UPDATE certificates SET revoked_by = 'someone' WHERE serial_hex = 'abc'",
        "UPDATE certificates SET revoked_at = 'x' WHERE serial_hex = 'abc'",
      ]) {
        await expect(sql(db.url, update)).rejects.toThrow(/final/);
      }
      expect(await stores.registry.getCertificate('abc')).toMatchObject({ revokedAt: AT, revokedBy: 'op', revocationReason: 'lost' });
      // An unrevoked certificate may still be revoked, also by hand.
      await sql(db.url, "UPDATE certificates SET revoked_at = 'y', revoked_by = 'db', revocation_reason = 'r' WHERE serial_hex = 'abd'");
      expect((await stores.registry.getCertificate('abd'))?.revokedBy).toBe('db');
    } finally {
      await stores.close();
      await db.drop();
    }
  });

  it('breaks ties in listing order by creation, not by where an updated row now lies', async () => {
    const db = await freshSchema();
    const stores = await openPostgresStores(db.url);
    try {
      const { registry } = stores;
      const { accountId } = await registry.createAccount({ email: 'ties@example.org', passwordHash: HASH, at: AT });
      const sites = [];
      for (const name of ['s1', 's2', 's3']) sites.push(await registry.createSite({ accountId, name, region: 'eu', at: AT }));
      await registry.setProductionApproval(sites[0].siteId, 'pending', AT); // a new row version, at the heap's end
      expect((await registry.listSites()).map((s) => s.name)).toEqual(['s1', 's2', 's3']);
      for (const serial of ['c1', 'c2', 'c3']) await registry.recordCertificate(certificate(sites[1].siteId, serial));
      await registry.revokeCertificate('c3', { at: AT, by: 'op', reason: 'r' });
      await sql(db.url, 'VACUUM FULL certificates'); // rewrites the heap and its indexes
      expect((await registry.listCertificates(sites[1].siteId)).map((c) => c.serialHex)).toEqual(['c3', 'c2', 'c1']);
    } finally {
      await stores.close();
      await db.drop();
    }
  });

  it('keeps the email unique in the schema, not only in the code', async () => {
    const db = await freshSchema();
    const stores = await openPostgresStores(db.url);
    try {
      await stores.registry.createAccount({ email: 'a@example.org', passwordHash: HASH, at: AT });
      for (const email of ['a@example.org', 'A@EXAMPLE.ORG']) {
        await expect(sql(db.url, "INSERT INTO accounts VALUES ('acct_x', $1, 'h', 'x')", [email])).rejects.toMatchObject({
          code: '23505',
        });
      }
    } finally {
      await stores.close();
      await db.drop();
    }
  });

  it('maps server errors to storage-failure by code, echoing neither data nor credentials', async () => {
    const { url } = await server();
    const wrong = new URL(url);
    wrong.password = 'WRONGPASSWORD';
    const denied = await openPostgresRegistry(wrong.toString()).catch((e: unknown) => e);
    expect(denied).toMatchObject({ type: 'storage-failure', message: /credentials \(28P01\)/ });
    expect((denied as Error).message).not.toContain('WRONGPASSWORD');

    const db = await freshSchema();
    const registry = await openPostgresRegistry(db.url);
    try {
      const site = await newSite(registry);
      await sql(db.url, 'DROP TABLE nonces');
      const failed = await registry.useNonce(site.siteId, 'nonce-SECRET', AT).catch((e: unknown) => e);
      expect(failed).toMatchObject({ type: 'storage-failure', message: /recording a nonce: .*\(42P01\)/ });
      expect((failed as Error).message).not.toContain('SECRET');
      expect((failed as Error).message).not.toContain('nonces');
    } finally {
      await registry.close();
      await db.drop();
    }
  });
});
