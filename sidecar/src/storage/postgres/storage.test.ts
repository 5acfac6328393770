import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import type { PostgresServer } from '../../../../fixtures/postgres/postgres.ts';
import { postgresForTestFile, sql } from '../../../test-helpers/postgres.ts';
import { KeybridgeError } from '../../errors.ts';
import { storageConformanceSuite } from '../../../test-helpers/storage-conformance/suite.ts';
import { AUDIT, KEY_1, VAULT_A, bytes, newVault } from '../../../test-helpers/storage-conformance/fixtures.ts';
import { openPostgresStorage, type PostgresStorage } from './storage.ts';
import { pgStorageFailure } from './errors.ts';
import { PG_LOCK_CLASS, PG_LOCK_MIGRATIONS, POSTGRES_MIGRATIONS } from './schema.ts';

// One real server for the whole file, a fresh database or schema for every storage.
const { server, freshDatabase, freshSchema } = postgresForTestFile(mkdtempSync(join(tmpdir(), 'kb-pg-')));

storageConformanceSuite('postgres', async () => {
  const db = await freshSchema();
  const storage = await openPostgresStorage(db.url);
  return {
    storage,
    cleanup: db.drop,
    tamperAudit: {
      update: async (seq) => void (await sql(db.url, "UPDATE audit SET actor = 'forged' WHERE seq = $1", [seq])),
      delete: async (seq) => void (await sql(db.url, 'DELETE FROM audit WHERE seq = $1', [seq])),
    },
    openPeer: () => openPostgresStorage(db.url),
  };
});

const keyOf = (i: number): string => i.toString(16).padStart(64, '0');

describe('PostgreSQL storage specifics', () => {
  it('migrates once when several nodes open a new database at once', async () => {
    const db = await freshDatabase();
    try {
      const nodes = await Promise.all(Array.from({ length: 4 }, () => openPostgresStorage(db.url)));
      const vaults = await Promise.all(nodes.map((node) => newVault(node)));
      expect(new Set(vaults.map((v) => v.vaultId)).size).toBe(1);
      await Promise.all(nodes.map((node) => node.close()));
      const rows = await sql(db.url, 'SELECT version FROM keybridge_schema_migrations ORDER BY version');
      expect(rows.map((r) => r.version)).toEqual(POSTGRES_MIGRATIONS.map((m) => m.version));
      const triggers = await sql(db.url, "SELECT tgname FROM pg_trigger WHERE tgrelid = 'audit'::regclass ORDER BY tgname");
      expect(triggers.map((r) => r.tgname)).toEqual(['audit_no_delete', 'audit_no_truncate', 'audit_no_update']);
    } finally {
      await db.drop();
    }
  });

  it('waits for the migration lock another node holds', async () => {
    const db = await freshSchema();
    const holder = new pg.Client({ connectionString: db.url });
    await holder.connect();
    try {
      await holder.query('SELECT pg_advisory_lock($1, $2)', [PG_LOCK_CLASS, PG_LOCK_MIGRATIONS]);
      let opened = false;
      const opening = openPostgresStorage(db.url).then((s) => ((opened = true), s));
      await new Promise((resolve) => setTimeout(resolve, 400));
      expect(opened).toBe(false);
      await holder.query('SELECT pg_advisory_unlock($1, $2)', [PG_LOCK_CLASS, PG_LOCK_MIGRATIONS]);
      await (await opening).close();
      expect(opened).toBe(true);
    } finally {
      await holder.end();
      await db.drop();
    }
  });

  it('reopens an existing database unchanged and refuses one from a newer keybridge', async () => {
    const db = await freshSchema();
    try {
      const first = await openPostgresStorage(db.url);
      const { vaultId } = await newVault(first);
      await first.close();
      const second = await openPostgresStorage(db.url);
      expect((await second.findVault(VAULT_A))?.vaultId).toBe(vaultId);
      await second.close();
      await sql(db.url, "INSERT INTO keybridge_schema_migrations VALUES (999, 'future', 'x')");
      await expect(openPostgresStorage(db.url)).rejects.toMatchObject({ type: 'storage-failure', message: /newer/ });
    } finally {
      await db.drop();
    }
  });

  it('refuses TRUNCATE of the audit log', async () => {
    const db = await freshSchema();
    try {
      const storage = await openPostgresStorage(db.url);
      await storage.appendAudit({ ...AUDIT, result: 'ok' });
      await expect(sql(db.url, 'TRUNCATE audit')).rejects.toThrow(/append-only/);
      expect(await storage.listAudit()).toHaveLength(1);
      await storage.close();
    } finally {
      await db.drop();
    }
  });

  it('maps bad credentials and an unreachable server to storage-failure without echoing them', async () => {
    const { url, port } = await server();
    const wrong = new URL(url);
    wrong.password = 'WRONGPASSWORD';
    const denied = await openPostgresStorage(wrong.toString()).catch((e: unknown) => e);
    expect(denied).toMatchObject({ type: 'storage-failure', message: /credentials \(28P01\)/ });
    expect((denied as Error).message).not.toContain('WRONGPASSWORD');
    const closedPort = new URL(url);
    closedPort.port = String(port === 1 ? 2 : 1);
    const refused = await openPostgresStorage(closedPort.toString()).catch((e: unknown) => e);
    expect(refused).toMatchObject({ type: 'storage-failure', message: /refused the connection \(ECONNREFUSED\)/ });
    expect((refused as Error).message).not.toContain(new URL(url).password);
  });

  it('maps connection loss, shutdown and a full disk by code only', () => {
    const pgError = (code: string): Error => Object.assign(new Error(`secret ${code} detail`), { code });
    expect(pgStorageFailure(pgError('53100'), 'x').message).toMatch(/disk is full \(53100\)/);
    expect(pgStorageFailure(pgError('57P01'), 'x').message).toMatch(/shutting down \(57P01\)/);
    expect(pgStorageFailure(pgError('08006'), 'x').message).toMatch(/connection failed \(08006\)/);
    expect(pgStorageFailure(pgError('ECONNRESET'), 'x').message).toMatch(/connection was lost/);
    for (const code of ['53100', '57P01', '57P03', '08006', '08001', '58030', '25006', 'XX001', 'ECONNRESET', 'ZZZZZ']) {
      const mapped = pgStorageFailure(pgError(code), 'op');
      expect(mapped.type).toBe('storage-failure');
      expect(mapped.message).not.toContain('secret');
    }
    expect(pgStorageFailure(new Error('Connection terminated unexpectedly'), 'x').type).toBe('storage-failure');
    expect(pgStorageFailure(new Error('boom'), 'x').type).toBe('internal');
  });

  describe.each([
    ['a fast restart', (s: PostgresServer) => s.restart()],
    ['kill -9 and a restart', async (s: PostgresServer) => (await s.kill9(), await s.restart())],
  ])('through %s during a burst of 200 upserts', (_name, bounce) => {
    it('keeps every acknowledged write once, fails the others cleanly, then works again', async () => {
      const srv = await server();
      const db = await freshSchema();
      let storage: PostgresStorage | undefined;
      try {
        storage = await openPostgresStorage(db.url, { connectTimeoutMs: 2000 });
        const s = storage;
        const { vaultId } = await newVault(s);
        const value = new Uint8Array(16 * 1024).fill(0x42);
        let resolved = 0;
        let bounced: Promise<void> | undefined;
        const burst = Array.from({ length: 200 }, (_, i) =>
          s.upsertSecret({ vaultId, keyId: keyOf(i), meta: bytes(i & 0xff), value, at: AUDIT.at }, AUDIT).then((r) => {
            resolved += 1;
            if (resolved === 10) bounced = bounce(srv);
            return r;
          }),
        );
        const results = await Promise.allSettled(burst);
        expect(bounced).toBeDefined();
        await bounced;
        const acked = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
        const failed = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
        for (const i of acked) expect(results[i]).toEqual({ status: 'fulfilled', value: { version: 1, updatedAt: AUDIT.at } });
        for (const reason of failed) {
          expect(reason).toBeInstanceOf(KeybridgeError);
          expect(reason).toMatchObject({ type: 'storage-failure' });
        }
        expect(acked.length).toBeGreaterThanOrEqual(10);
        expect(failed.length).toBeGreaterThan(0);

        // The same storage, not reopened: the pool reconnects.
        const found = await s.getSecrets(
          vaultId,
          Array.from({ length: 200 }, (_, i) => keyOf(i)),
        );
        for (const i of acked) expect(found.get(keyOf(i))?.version).toBe(1);
        for (const record of found.values()) expect(record.version).toBe(1);
        const log = await s.listAudit({ vaultId, limit: 10_000 });
        expect(log.map((e) => e.keyId).sort()).toEqual([...found.keys()].sort());
        const after = await s.upsertSecret({ vaultId, keyId: KEY_1, meta: bytes(1), value: bytes(2), at: AUDIT.at }, AUDIT);
        expect(after.version).toBe(1);
        expect((await s.getSecrets(vaultId, [KEY_1])).get(KEY_1)?.value).toEqual(bytes(2));
      } finally {
        await storage?.close();
        await db.drop();
      }
    });
  });
});
