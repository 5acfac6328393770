import { describe, expect, it } from 'vitest';
import { openStores, rootKeySource } from '../../src/roles/server.ts';
import { openStoredRootKeyRing } from '../../src/server/root-key-ring-store.ts';
import { KeyService } from '../../src/server/key-service.ts';
import {
  caSealedBy,
  expectReadable,
  filesContaining,
  fillVaults,
  openService,
  rootKeyRecords,
  rotateCrash,
  rotateOk,
  sealedBy,
  type ServerHome,
} from './fixture.ts';
import { buildSecret, makeSite } from '../key-service-fixture.ts';

/**
 * The root key rotation tests, run on each storage × root key backend (root-rotation*.test.ts).
 * `keyGone` tells whether the key at a locator no longer exists (file removed, or no object
 * with that label in the token). `crashPoints` are the KEYBRIDGE_TEST_ROTATION_CRASH_AT steps
 * at which a child `rotate-root` is killed with SIGKILL before a second run finishes it.
 */
export interface RotationSuiteOptions {
  makeHome: () => Promise<ServerHome>;
  keyGone: (home: ServerHome, locator: string) => Promise<boolean>;
  crashPoints: readonly string[];
}

const VAULTS = 6;

async function expectFinished(home: ServerHome, destroyed: readonly string[], keyGone: RotationSuiteOptions['keyGone']): Promise<string> {
  const records = await rootKeyRecords(home.config);
  const live = records.filter((r) => r.state !== 'destroyed');
  expect(live.map((r) => r.state)).toEqual(['active']);
  const active = live[0];
  for (const keyId of destroyed) {
    const record = records.find((r) => r.keyId === keyId)!;
    expect(record.state, keyId).toBe('destroyed');
    expect(await keyGone(home, record.locator), record.locator).toBe(true);
  }
  expect(await sealedBy(home.config)).toEqual({ [active.keyId]: VAULTS });
  expect(caSealedBy(home.home)).toBe(active.keyId);
  return active.keyId;
}

export function rootRotationSuite(name: string, options: RotationSuiteOptions): void {
  describe(`root key rotation: ${name}`, () => {
    const finished = (home: ServerHome, destroyed: readonly string[]) => expectFinished(home, destroyed, options.keyGone);

    it('re-wraps every vault and the CA key, keeps values readable and destroys the old key; a second rotation follows', async () => {
      const home = await options.makeHome();
      const written = await fillVaults(home.config, VAULTS);
      const before = await openService(home.config);
      await before.service.close();
      const [first] = await rootKeyRecords(home.config);
      expect(first).toMatchObject({ state: 'active', kind: home.config.rootKey.kind });
      expect(await sealedBy(home.config)).toEqual({ [first.keyId]: VAULTS });

      const result = await rotateOk(home);
      expect(result).toEqual({ from: first.keyId, to: expect.not.stringMatching(first.keyId), resealed: VAULTS, resumed: false });
      expect(await finished(home, [first.keyId])).toBe(result.to);
      await expectReadable(home.config, written);
      const reopened = await openService(home.config);
      expect(reopened.caCertPem).toBe(before.caCertPem);
      await reopened.service.close();
      expect(filesContaining(home.home, 'PRIVATE KEY')).toEqual([]);

      const second = await rotateOk(home);
      expect(second).toMatchObject({ from: result.to, resealed: VAULTS, resumed: false });
      expect(await finished(home, [first.keyId, result.to])).toBe(second.to);
      await expectReadable(home.config, written);
    });

    for (const crashAt of options.crashPoints) {
      it(`finishes a rotation killed (SIGKILL) at "${crashAt}" when run again`, async () => {
        const home = await options.makeHome();
        const written = await fillVaults(home.config, VAULTS);
        const [first] = await rootKeyRecords(home.config);
        await rotateCrash(home, crashAt);
        if (crashAt.startsWith('resealed:')) {
          const done = Number(crashAt.split(':')[1]);
          const counts = await sealedBy(home.config);
          expect(counts[first.keyId]).toBe(VAULTS - done);
          // Mid-rotation, a key service holds both keys and every value still reads.
          await expectReadableMidRotation(home, written);
        }
        const result = await rotateOk(home);
        // A software key recorded but never written died with the process: a new rotation runs.
        const abandoned = crashAt === 'planned' && home.config.rootKey.kind === 'software';
        expect(result).toMatchObject({ from: first.keyId, resumed: !abandoned });
        await finished(home, [first.keyId]);
        await expectReadable(home.config, written);
      });
    }

    it('finishes an interrupted rotation when the server starts', async () => {
      const home = await options.makeHome();
      const written = await fillVaults(home.config, VAULTS);
      const [first] = await rootKeyRecords(home.config);
      await rotateCrash(home, 'resealed:2');
      const { service } = await openService(home.config);
      await service.close();
      await finished(home, [first.keyId]);
      await expectReadable(home.config, written);
    });

    it('keeps a running key service working through a rotation made by another process', async () => {
      const home = await options.makeHome();
      const written = await fillVaults(home.config, VAULTS);
      const { service } = await openService(home.config);
      try {
        const [firstRead] = await service.get(written[0].site.identity, [written[0].keyId]);
        expect(firstRead?.ciphertext).toBe(written[0].ciphertext);
        const { to } = await rotateOk(home);
        // Vaults not opened yet are sealed by a key this service did not hold: it picks it up.
        for (const item of written.slice(1)) {
          expect((await service.get(item.site.identity, [item.keyId]))[0]?.ciphertext).toBe(item.ciphertext);
        }
        // A new vault is sealed by the new key, not by the destroyed one.
        const site = makeSite('site_after_rotation');
        const { request } = buildSecret(site, 'fresh', 'fresh value');
        await service.put(site.identity, request);
        expect((await sealedBy(home.config))[to]).toBe(VAULTS + 1);
        expect((await service.info()).atRest).toMatchObject({ healthy: true });
      } finally {
        await service.close();
      }
    });
  });
}

/** Reads everything through a ring opened without finishing the rotation (both keys held). */
async function expectReadableMidRotation(home: ServerHome, written: Awaited<ReturnType<typeof fillVaults>>): Promise<void> {
  const stores = await openStores(home.config);
  const ring = await openStoredRootKeyRing(stores.storage, rootKeySource(home.config));
  const records = await stores.storage.listRootKeys();
  expect(
    records
      .filter((r) => r.state !== 'destroyed')
      .map((r) => r.state)
      .sort(),
  ).toEqual(['active', 'retiring']);
  const service = new KeyService({ storage: stores.storage, rootKey: ring, region: home.config.region, version: 't' });
  try {
    for (const item of written) {
      expect((await service.get(item.site.identity, [item.keyId]))[0]?.ciphertext).toBe(item.ciphertext);
    }
  } finally {
    await service.close();
  }
}
