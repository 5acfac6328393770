/**
 * Test helpers for the key service tests (not a test itself): a real SQLite file in a
 * temp dir, the software root key, and PutSecretRequests built the way an agent builds
 * them (opaque key id, sealed name and label, kb1 ciphertext).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKek, kekId, nameKey, opaqueKeyId, randomKey, sealText, utf8, wrapValue } from '../src/crypto/index.ts';
import type { KeybridgeError } from '../src/errors.ts';
import type { ClientIdentity, Environment, PutSecretRequest } from '../src/protocol/keyservice.ts';
import { openSoftwareRootKey } from '../src/sealing/software.ts';
import type { RootKey } from '../src/sealing/root-key.ts';
import { openSqliteStorage, type SqliteStorage } from '../src/storage/sqlite/storage.ts';
import { KeyService } from '../src/server/key-service.ts';

export interface Fixture {
  dir: string;
  dbFile: string;
  rootKeyFile: string;
  storage: SqliteStorage;
  rootKey: RootKey;
  service: KeyService;
  /** Moves the service clock forward by one second per call. */
  clock: { now: () => Date; current: Date };
  cleanup: () => Promise<void>;
}

export async function makeFixture(dir = mkdtempSync(join(tmpdir(), 'kb-keyservice-'))): Promise<Fixture> {
  const dbFile = join(dir, 'state', 'keyservice.db');
  const rootKeyFile = join(dir, 'state', 'root.key');
  const storage = await openSqliteStorage(dbFile);
  const rootKey = await openSoftwareRootKey(rootKeyFile);
  const clock = {
    current: new Date('2025-05-01T12:00:00.000Z'),
    now(): Date {
      clock.current = new Date(clock.current.getTime() + 1000);
      return clock.current;
    },
  };
  const service = new KeyService({ storage, rootKey, region: 'eu', version: '9.9.9-test', now: () => clock.now() });
  return {
    dir,
    dbFile,
    rootKeyFile,
    storage,
    rootKey,
    service,
    clock,
    cleanup: async () => {
      await service.close().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface TestSite {
  siteId: string;
  siteSecret: Uint8Array;
  environment: Environment;
  identity: ClientIdentity;
}

export function makeSite(siteId = 'site_alpha1', environment: Environment = 'development'): TestSite {
  return {
    siteId,
    siteSecret: randomKey(32),
    environment,
    identity: { siteId, environment, subject: `CN=${siteId},OU=${environment}` },
  };
}

/** The same site (same secret) seen through the other environment's certificate. */
export function otherEnvironment(site: TestSite): TestSite {
  const environment: Environment = site.environment === 'development' ? 'production' : 'development';
  return { ...site, environment, identity: { ...site.identity, environment, subject: `CN=${site.siteId},OU=${environment}` } };
}

export interface BuiltSecret {
  request: PutSecretRequest;
  kek: Uint8Array;
}

export function buildSecret(site: TestSite, name: string, value: string, label = '', kek = generateKek()): BuiltSecret {
  const keyId = opaqueKeyId(site.siteSecret, site.environment, name);
  const names = nameKey(site.siteSecret);
  return {
    kek,
    request: {
      keyId,
      sealedName: sealText(names, name, 'name', keyId),
      sealedLabel: label ? sealText(names, label, 'label', keyId) : '',
      kekId: kekId(kek),
      ciphertext: wrapValue(kek, utf8(value), { siteId: site.siteId, environment: site.environment, keyId }),
    },
  };
}

/** The error a promise rejects with (fails the test if it resolves). */
export async function rejection(promise: Promise<unknown>): Promise<KeybridgeError> {
  try {
    await promise;
  } catch (error) {
    return error as KeybridgeError;
  }
  throw new Error('expected the call to fail, but it succeeded');
}
