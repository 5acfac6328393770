/**
 * Test helpers for the root key rotation tests (not a test itself): a server home and YAML
 * config on a real backend (SQLite or PostgreSQL, software key or SoftHSM), vaults filled
 * through the KeyService the way `keybridge server` opens it, `keybridge server rotate-root`
 * as a real child process (which the crash tests kill with SIGKILL through the CLI's
 * KEYBRIDGE_TEST_ROTATION_CRASH_AT hook), and checks that every value still reads.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { postgresForTestFile } from '../postgres.ts';
import { BIN } from '../up-process.ts';
import { loadServerConfig, type ServerConfig } from '../../src/config/server.ts';
import { openRootKeys, openStores } from '../../src/roles/server.ts';
import type { RootKeyRecord } from '../../src/storage/types.ts';
import { loadOrCreateCa } from '../../src/server/ca-store.ts';
import { KeyService } from '../../src/server/key-service.ts';
import { buildSecret, makeSite, type TestSite } from '../key-service-fixture.ts';

export interface ServerHome {
  home: string;
  configFile: string;
  config: ServerConfig;
  /** Environment for child processes (SOFTHSM2_CONF for a PKCS#11 root key). */
  env: Record<string, string>;
}

/** `storage` and `rootKey` are YAML flow mappings, e.g. `{ kind: sqlite }`. */
export async function makeServerHome(dir: string, storage: string, rootKey: string, env: Record<string, string> = {}): Promise<ServerHome> {
  const configFile = join(dir, 'server.yaml');
  writeFileSync(configFile, ['region: eu', 'home: home', `storage: ${storage}`, `rootKey: ${rootKey}`].join('\n'));
  const config = await loadServerConfig(configFile);
  return { home: config.home, configFile, config, env };
}

/** A fresh database URL per call on this file's PostgreSQL (test-helpers/postgres.ts). */
export function testPostgres(base: string): { database(): Promise<string> } {
  const postgres = postgresForTestFile(base);
  return { database: async () => (await postgres.freshDatabase()).url };
}

/** A secret file (0600) holding `text`, for storage.urlFile. */
export function secretFile(path: string, text: string): string {
  writeFileSync(path, `${text}\n`, { mode: 0o600 });
  return path;
}

export interface Written {
  site: TestSite;
  keyId: string;
  ciphertext: string;
}

/** Opens the server's parts as `keybridge server` does (an interrupted rotation is finished first). */
export async function openService(config: ServerConfig): Promise<{ service: KeyService; caCertPem: string }> {
  const stores = await openStores(config);
  try {
    const rootKey = await openRootKeys(config, stores.storage);
    const ca = await loadOrCreateCa(config.home, rootKey);
    // KeyService closes the storage; the registry shares its handle or pool.
    const service = new KeyService({ storage: stores.storage, rootKey, region: config.region, version: 't', atRestProbe: { cacheMs: 0 } });
    return { service, caCertPem: ca.certPem };
  } catch (error) {
    await stores.close();
    throw error;
  }
}

/** One secret in each of `count` vaults (sites × both environments); returns what was written. */
export async function fillVaults(config: ServerConfig, count: number, prefix = 'site'): Promise<Written[]> {
  const { service } = await openService(config);
  const written: Written[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const base = makeSite(`${prefix}_${Math.floor(i / 2)}`, i % 2 ? 'production' : 'development');
      const { request } = buildSecret(base, `key_${i}`, `value ${i}`);
      await service.put(base.identity, request);
      written.push({ site: base, keyId: request.keyId, ciphertext: request.ciphertext });
    }
  } finally {
    await service.close();
  }
  return written;
}

/** Every written value reads back, through a freshly opened server. */
export async function expectReadable(config: ServerConfig, written: readonly Written[]): Promise<void> {
  const { service } = await openService(config);
  try {
    for (const item of written) {
      const [got] = await service.get(item.site.identity, [item.keyId]);
      expect(got?.ciphertext, item.site.identity.subject).toBe(item.ciphertext);
    }
  } finally {
    await service.close();
  }
}

export async function rootKeyRecords(config: ServerConfig): Promise<RootKeyRecord[]> {
  const stores = await openStores(config);
  try {
    return await stores.storage.listRootKeys();
  } finally {
    await stores.close();
  }
}

/** The root key ids sealing the vaults, with how many vaults each seals. */
export async function sealedBy(config: ServerConfig): Promise<Record<string, number>> {
  const stores = await openStores(config);
  try {
    const counts: Record<string, number> = {};
    for (const vault of await stores.storage.listVaults()) counts[vault.rootKeyId] = (counts[vault.rootKeyId] ?? 0) + 1;
    return counts;
  } finally {
    await stores.close();
  }
}

export function caSealedBy(home: string): string {
  return JSON.parse(readFileSync(join(home, 'ca', 'ca.key.sealed'), 'utf8')).rootKeyId;
}

/** Every regular file under `dir` whose bytes contain `text`. */
export function filesContaining(dir: string, text: string): string[] {
  const found: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const info = statSync(path);
    if (info.isDirectory()) found.push(...filesContaining(path, text));
    else if (info.isFile() && readFileSync(path).includes(text)) found.push(path);
  }
  return found;
}

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** `keybridge server rotate-root --config FILE --json` as a child process; `crashAt` kills it at that step. */
export function rotateCli(home: ServerHome, crashAt?: string): Promise<CliRun> {
  const env = { ...process.env, ...home.env, KEYBRIDGE_TEST_ROTATION_CRASH_AT: crashAt ?? '' };
  const child = spawn(process.execPath, [BIN, 'server', 'rotate-root', '--config', home.configFile, '--json'], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** A run that must succeed: its JSON result. */
export async function rotateOk(home: ServerHome): Promise<{ from: string; to: string; resealed: number; resumed: boolean }> {
  const run = await rotateCli(home);
  expect(run.code, run.stderr).toBe(0);
  return JSON.parse(run.stdout);
}

/** A run killed with SIGKILL at `crashAt`. */
export async function rotateCrash(home: ServerHome, crashAt: string): Promise<void> {
  const run = await rotateCli(home, crashAt);
  expect(run.signal, `${run.code} ${run.stderr}`).toBe('SIGKILL');
}
