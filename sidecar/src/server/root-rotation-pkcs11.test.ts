import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startSoftHsm, type SoftHsm } from '../../../fixtures/softhsm/softhsm.ts';
import { openPkcs11RootKey } from '../sealing/pkcs11/pkcs11.ts';
import {
  fillVaults,
  makeServerHome,
  openService,
  secretFile,
  testPostgres,
  type ServerHome,
} from '../../test-helpers/root-rotation/fixture.ts';
import { rootRotationSuite } from '../../test-helpers/root-rotation/suite.ts';

// PKCS#11 root keys on a real SoftHSM token (fixtures/softhsm), with SQLite and with a real
// PostgreSQL: the production shape. The rotate-root child processes share the token.
const base = mkdtempSync(join(tmpdir(), 'kb-rotation-hsm-'));
const postgres = testPostgres(base);
let started: Promise<SoftHsm> | undefined;
afterAll(async () => {
  await (await started?.catch(() => undefined))?.down();
  rmSync(base, { recursive: true, force: true });
});
async function softHsm(): Promise<SoftHsm> {
  started ??= startSoftHsm(join(base, 'hsm')).then((hsm) => {
    // SoftHSM reads its configuration in C_Initialize, in the process that loads it.
    process.env.SOFTHSM2_CONF = hsm.conf;
    return hsm;
  });
  return started;
}

let homes = 0;
async function pkcs11Home(storage: (dir: string) => Promise<string>): Promise<ServerHome> {
  const hsm = await softHsm();
  const dir = mkdtempSync(join(base, `home-${++homes}-`));
  const rootKey = `{ kind: pkcs11, module: ${hsm.module}, tokenLabel: ${hsm.token}, pinFile: ${hsm.pinFile}, keyLabel: root${homes} }`;
  return makeServerHome(dir, await storage(dir), rootKey, hsm.env);
}

/** No object with this label in the token any more (C_DestroyObject ran). */
async function labelGone(home: ServerHome, locator: string): Promise<boolean> {
  if (home.config.rootKey.kind !== 'pkcs11') return false;
  const { module, tokenLabel, pinFile } = home.config.rootKey;
  try {
    await (await openPkcs11RootKey({ module, tokenLabel, pinFile, keyLabel: locator })).close();
    return false;
  } catch (error) {
    if ((error as { field?: string }).field === 'rootKey.keyLabel') return true;
    throw error;
  }
}

rootRotationSuite('SQLite, PKCS#11 root key (SoftHSM)', {
  makeHome: () => pkcs11Home(async () => '{ kind: sqlite }'),
  keyGone: labelGone,
  // A PKCS#11 key recorded but not yet made is made on the second run (its CKA_ID was recorded).
  crashPoints: ['planned'],
});

rootRotationSuite('PostgreSQL, PKCS#11 root key (SoftHSM)', {
  makeHome: () => pkcs11Home(async (dir) => `{ kind: postgres, urlFile: ${secretFile(join(dir, 'pg-url'), await postgres.database())} }`),
  keyGone: labelGone,
  crashPoints: ['created', 'resealed:3', 'destroyed'],
});

describe('at-rest health on SoftHSM', () => {
  it('info() answers healthy: false while the token is gone, and true again by itself once it is back', async () => {
    const hsm = await softHsm();
    const home = await pkcs11Home(async () => '{ kind: sqlite }');
    const written = await fillVaults(home.config, 2);
    const { service } = await openService(home.config);
    try {
      expect((await service.info()).atRest).toMatchObject({ kind: 'pkcs11', healthy: true });
      hsm.removeTokenDir();
      try {
        const started = Date.now();
        const info = await service.info();
        expect(Date.now() - started).toBeLessThan(3000);
        expect(info.atRest).toMatchObject({ kind: 'pkcs11', healthy: false, detail: expect.stringMatching(/\S/) });
        expect(info.atRest.detail).not.toContain(await import('node:fs').then((fs) => fs.readFileSync(hsm.pinFile, 'utf8').trim()));
        // Calls that need the root key answer 503 meanwhile (this vault was never opened).
        await expect(service.get(written[1].site.identity, [written[1].keyId])).rejects.toMatchObject({
          type: 'root-key-unavailable',
          status: 503,
        });
      } finally {
        hsm.restoreTokenDir();
      }
      const deadline = Date.now() + 15_000;
      while ((await service.info()).atRest.healthy !== true) {
        if (Date.now() > deadline) throw new Error('the root key did not come back healthy');
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect((await service.get(written[1].site.identity, [written[1].keyId]))[0]?.ciphertext).toBe(written[1].ciphertext);
    } finally {
      await service.close();
    }
  });
});
