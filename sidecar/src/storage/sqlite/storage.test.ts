import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { KeybridgeError } from '../../errors.ts';
import { storageConformanceSuite } from '../../../test-helpers/storage-conformance/suite.ts';
import { AUDIT, KEY_1, VAULT_A, bytes, newVault } from '../../../test-helpers/storage-conformance/fixtures.ts';
import { SqliteStorage, openSqliteStorage } from './storage.ts';
import { SQLITE_MIGRATIONS } from './schema.ts';
import { storageFailure } from './errors.ts';

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'kb-sqlite-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function rawRun(file: string, sql: string, ...params: unknown[]): Promise<void> {
  const db = new Database(file);
  try {
    db.prepare(sql).run(...params);
    return Promise.resolve();
  } catch (error) {
    return Promise.reject(error);
  } finally {
    db.close();
  }
}

storageConformanceSuite('sqlite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kb-sqlite-conf-'));
  const file = join(dir, 'data', 'keybridge.db');
  const storage = await openSqliteStorage(file);
  return {
    storage,
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
    tamperAudit: {
      update: (seq) => rawRun(file, "UPDATE audit SET actor = 'forged' WHERE seq = ?", seq),
      delete: (seq) => rawRun(file, 'DELETE FROM audit WHERE seq = ?', seq),
    },
    openPeer: () => openSqliteStorage(file),
  };
});

describe('SQLite storage specifics', () => {
  it('creates its directory 0700 and its database and WAL 0600', async () => {
    const dir = join(tempDir(), 'nested', 'state');
    const file = join(dir, 'kb.db');
    const storage = await openSqliteStorage(file);
    await newVault(storage);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(`${file}-wal`).mode & 0o777).toBe(0o600);
    await storage.close();
  });

  it('runs in WAL mode with synchronous FULL, foreign keys and a busy timeout', async () => {
    const file = join(tempDir(), 'kb.db');
    const db = new Database(file);
    const storage = SqliteStorage.fromDatabase(db, { busyTimeoutMs: 1234 });
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('synchronous', { simple: true })).toBe(2);
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(db.pragma('busy_timeout', { simple: true })).toBe(1234);
    await storage.close();
  });

  it('records its schema version once and reopens an existing file unchanged', async () => {
    const file = join(tempDir(), 'kb.db');
    const first = await openSqliteStorage(file);
    const { vaultId } = await newVault(first);
    await first.close();
    const second = await openSqliteStorage(file);
    expect((await second.findVault(VAULT_A))?.vaultId).toBe(vaultId);
    await second.close();
    const db = new Database(file, { readonly: true });
    const rows = db.prepare('SELECT version FROM schema_migrations').all() as { version: number }[];
    db.close();
    expect(rows.map((r) => r.version)).toEqual(SQLITE_MIGRATIONS.map((m) => m.version));
  });

  it('adds root key records to a database from before rotation; its vaults stay as they were', async () => {
    const file = join(tempDir(), 'kb.db');
    const db = new Database(file);
    db.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL) STRICT');
    for (const migration of SQLITE_MIGRATIONS.filter((m) => m.version < 3)) {
      db.exec(migration.sql);
      db.prepare('INSERT INTO schema_migrations VALUES (?, ?, ?)').run(migration.version, migration.name, 'old');
    }
    db.prepare(
      `INSERT INTO vaults (vault_id, site_id, environment, region, sealed_data_key, root_key_id, created_at)
       VALUES ('v-old', ?, ?, ?, ?, 'aaaaaaaaaaaaaaaa', 'old')`,
    ).run(VAULT_A.siteId, VAULT_A.environment, VAULT_A.region, Buffer.from([1, 2, 3]));
    db.close();
    const storage = await openSqliteStorage(file);
    expect(await storage.listRootKeys()).toEqual([]);
    expect(await storage.listVaults({ rootKeyId: 'aaaaaaaaaaaaaaaa' })).toEqual([
      { vaultId: 'v-old', sealedDataKey: bytes(1, 2, 3), rootKeyId: 'aaaaaaaaaaaaaaaa' },
    ]);
    await storage.close();
  });

  it('refuses a database written by a newer keybridge', async () => {
    const file = join(tempDir(), 'kb.db');
    await (await openSqliteStorage(file)).close();
    await rawRun(file, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', 'x')");
    await expect(openSqliteStorage(file)).rejects.toMatchObject({ type: 'storage-failure', message: /newer/ });
  });

  it('refuses a file that is not a database, without echoing its content', async () => {
    const file = join(tempDir(), 'kb.db');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(file, 'TOPSECRET '.repeat(1000), { mode: 0o600 });
    const error = await openSqliteStorage(file).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KeybridgeError);
    expect(error).toMatchObject({ type: 'storage-failure' });
    expect(String((error as Error).message)).not.toContain('TOPSECRET');
  });

  it('maps a full disk to storage-failure without echoing data', async () => {
    const file = join(tempDir(), 'kb.db');
    const db = new Database(file);
    const storage = SqliteStorage.fromDatabase(db);
    const { vaultId } = await newVault(storage);
    db.pragma(`max_page_count = ${(db.pragma('page_count', { simple: true }) as number) + 2}`);
    const value = new Uint8Array(256 * 1024).fill(0x41);
    const error = await storage
      .upsertSecret({ vaultId, keyId: KEY_1, meta: bytes(1), value, at: AUDIT.at }, AUDIT)
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ type: 'storage-failure', message: /disk is full \(SQLITE_FULL\)/ });
    expect((error as Error).message).not.toContain('AAAA');
    expect(await storage.listAudit({ vaultId })).toEqual([]);
    await storage.close();
  });

  it('maps I/O, read-only and unknown errors by code only', () => {
    const sqliteError = (code: string): Error => new Database.SqliteError(`secret ${code} detail`, code);
    expect(storageFailure(sqliteError('SQLITE_IOERR_FSYNC'), 'x').message).toMatch(/I\/O error .*SQLITE_IOERR_FSYNC/);
    expect(storageFailure(sqliteError('SQLITE_READONLY_DBMOVED'), 'x').message).toMatch(/read-only/);
    expect(storageFailure(sqliteError('SQLITE_READONLY'), 'x').type).toBe('storage-failure');
    for (const code of ['SQLITE_FULL', 'SQLITE_IOERR', 'SQLITE_READONLY', 'SQLITE_BUSY', 'SQLITE_WHATEVER']) {
      expect(storageFailure(sqliteError(code), 'op').message).not.toContain('secret');
    }
    expect(storageFailure(new Error('boom'), 'x').type).toBe('internal');
  });

  it('keeps an acknowledged write after kill -9 of the writing process', async () => {
    const file = join(tempDir(), 'kb.db');
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', fileURLToPath(new URL('../../../test-helpers/sqlite-crash-child.ts', import.meta.url)), file],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let acked = 0;
    await new Promise<void>((resolve, reject) => {
      let buffer = '';
      child.stdout.on('data', (chunk: Buffer) => {
        buffer += chunk.toString();
        const lines = buffer.split('\n');
        buffer = lines.pop() ?? '';
        for (const line of lines) acked = Math.max(acked, Number(line));
        if (acked >= 25) {
          child.kill('SIGKILL');
          resolve();
        }
      });
      child.on('exit', () => resolve());
      child.on('error', reject);
    });
    await new Promise((resolve) => child.once('exit', resolve).once('close', resolve));
    expect(acked).toBeGreaterThanOrEqual(25);
    const storage = await openSqliteStorage(file);
    const vault = await storage.findVault(VAULT_A);
    const secret = (await storage.getSecrets(vault!.vaultId, [KEY_1])).get(KEY_1);
    expect(secret!.version).toBeGreaterThanOrEqual(acked);
    expect((await storage.listAudit({ keyId: KEY_1 })).length).toBe(secret!.version);
    await storage.close();
  });
});
