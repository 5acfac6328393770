import { describe, expect, it } from 'vitest';
import type { RootKeyRecord, SealedDataKey, Storage, VaultKey } from '../../src/storage/types.ts';
import type { StorageHarness } from './fixtures.ts';
import { VAULT_A, bytes } from './fixtures.ts';

/**
 * The root key rotation part of `storageConformanceSuite()` (vault listing, compare-and-set
 * re-sealing, root key records); not meant to be called on its own. Rotation relies on these
 * being exact on every backend, so a crash at any point can be finished later.
 */
const OLD = 'aaaaaaaaaaaaaaaa';
const NEW = 'bbbbbbbbbbbbbbbb';
const THIRD = 'cccccccccccccccc';
const AT = '2025-06-01T00:00:00.000Z';
const LATER = '2025-06-02T00:00:00.000Z';

const sealedBy =
  (rootKeyId: string, fill = 1): (() => Promise<SealedDataKey>) =>
  async () => ({
    sealedDataKey: new Uint8Array(40).fill(fill),
    rootKeyId,
  });
const vaultOf = (siteId: string): VaultKey => ({ ...VAULT_A, siteId });
const record = (keyId: string, state: RootKeyRecord['state'], locator = `root-${keyId}.key`) => ({
  keyId,
  kind: 'software' as const,
  locator,
  state,
});
const unavailable = { name: 'KeybridgeError', type: 'root-key-unavailable' };

/** Records OLD as active, NEW as pending, then flips them as a rotation does. */
async function beginRotation(storage: Storage): Promise<void> {
  expect(await storage.addRootKey(record(OLD, 'active'), AT)).toBe(true);
  expect(await storage.addRootKey(record(NEW, 'pending'), AT)).toBe(true);
  const flip = [
    { keyId: OLD, from: 'active', to: 'retiring' },
    { keyId: NEW, from: 'pending', to: 'active' },
  ] as const;
  expect(await storage.setRootKeyStates(flip, LATER)).toBe(true);
}

export function rootKeyConformance(current: () => StorageHarness): void {
  describe('root key rotation support', () => {
    it('lists every vault ordered by id, or only those sealed by one root key', async () => {
      const { storage } = current();
      expect(await storage.listVaults()).toEqual([]);
      const made = [
        await storage.ensureVault(vaultOf('site_1'), sealedBy(OLD, 1)),
        await storage.ensureVault(vaultOf('site_2'), sealedBy(NEW, 2)),
        await storage.ensureVault(vaultOf('site_3'), sealedBy(OLD, 3)),
      ];
      const byId = [...made].sort((a, b) => (a.vaultId < b.vaultId ? -1 : 1));
      expect(await storage.listVaults()).toEqual(byId);
      expect(await storage.listVaults({ rootKeyId: OLD })).toEqual(byId.filter((v) => v.rootKeyId === OLD));
      expect(await storage.listVaults({ rootKeyId: THIRD })).toEqual([]);
    });

    it('re-seals a vault only if it is still sealed by the expected root key', async () => {
      const { storage } = current();
      const vault = await storage.ensureVault(VAULT_A, sealedBy(OLD));
      const resealed = { sealedDataKey: bytes(9, 8, 7), rootKeyId: NEW };
      expect(await storage.resealVault(vault.vaultId, OLD, resealed)).toBe(true);
      expect(await storage.findVault(VAULT_A)).toEqual({ vaultId: vault.vaultId, ...resealed });
      // A second (or resumed) rotation pass changes nothing any more.
      expect(await storage.resealVault(vault.vaultId, OLD, { sealedDataKey: bytes(1), rootKeyId: NEW })).toBe(false);
      expect(await storage.resealVault('no-such-vault', OLD, resealed)).toBe(false);
      expect((await storage.findVault(VAULT_A))?.sealedDataKey).toEqual(bytes(9, 8, 7));
    });

    it('lets exactly one of 20 concurrent re-seals of one vault win', async () => {
      const { storage } = current();
      const vault = await storage.ensureVault(VAULT_A, sealedBy(OLD));
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => storage.resealVault(vault.vaultId, OLD, { sealedDataKey: bytes(i), rootKeyId: NEW })),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
      const winner = results.indexOf(true);
      expect((await storage.findVault(VAULT_A))?.sealedDataKey).toEqual(bytes(winner));
    });

    it('records root keys, oldest first, and refuses a duplicate id or a second key in one live state', async () => {
      const { storage } = current();
      expect(await storage.listRootKeys()).toEqual([]);
      expect(await storage.addRootKey(record(OLD, 'active', 'root.key'), AT)).toBe(true);
      expect(await storage.addRootKey(record(OLD, 'pending'), AT)).toBe(false);
      expect(await storage.addRootKey(record(NEW, 'active'), AT)).toBe(false);
      expect(await storage.addRootKey(record(NEW, 'pending'), LATER)).toBe(true);
      expect(await storage.addRootKey(record(THIRD, 'pending'), LATER)).toBe(false);
      expect(await storage.listRootKeys()).toEqual([
        { keyId: OLD, kind: 'software', locator: 'root.key', state: 'active', createdAt: AT, updatedAt: AT },
        { keyId: NEW, kind: 'software', locator: `root-${NEW}.key`, state: 'pending', createdAt: LATER, updatedAt: LATER },
      ]);
      await expect(storage.addRootKey({ ...record(THIRD, 'active'), keyId: 'NOT-HEX' }, AT)).rejects.toMatchObject({
        type: 'invalid-field',
      });
      await expect(storage.addRootKey(record(THIRD, 'gone' as 'active'), AT)).rejects.toMatchObject({ type: 'invalid-field' });
    });

    it('changes states all together or not at all', async () => {
      const { storage } = current();
      await beginRotation(storage);
      const states = async () => (await storage.listRootKeys()).map((k) => [k.keyId, k.state, k.updatedAt]);
      expect(await states()).toEqual([
        [OLD, 'retiring', LATER],
        [NEW, 'active', LATER],
      ]);
      // The second change does not apply (NEW is not pending): the first is rolled back.
      const refused = [
        { keyId: OLD, from: 'retiring', to: 'destroyed' },
        { keyId: NEW, from: 'pending', to: 'active' },
      ] as const;
      expect(await storage.setRootKeyStates(refused, '2025-06-03T00:00:00.000Z')).toBe(false);
      // A second active key breaks the uniqueness rule: refused, nothing changed.
      expect(await storage.addRootKey(record(THIRD, 'pending'), LATER)).toBe(true);
      expect(await storage.setRootKeyStates([{ keyId: THIRD, from: 'pending', to: 'active' }], LATER)).toBe(false);
      expect(await storage.setRootKeyStates([{ keyId: OLD, from: 'retiring', to: 'destroyed' }], LATER)).toBe(true);
      expect(await states()).toEqual([
        [OLD, 'destroyed', LATER],
        [NEW, 'active', LATER],
        [THIRD, 'pending', LATER],
      ]);
      await expect(storage.setRootKeyStates([], LATER)).rejects.toMatchObject({ type: 'invalid-field' });
    });

    it('refuses new vaults and re-seals under a root key recorded as not active', async () => {
      const { storage } = current();
      // Unknown to root_keys: accepted (storage used without root key records).
      await storage.ensureVault(vaultOf('site_unknown_key'), sealedBy(THIRD));
      await beginRotation(storage);
      await expect(storage.ensureVault(VAULT_A, sealedBy(OLD))).rejects.toMatchObject(unavailable);
      expect(await storage.findVault(VAULT_A)).toBeNull();
      const created = await storage.ensureVault(VAULT_A, sealedBy(NEW));
      expect(created.rootKeyId).toBe(NEW);
      await expect(storage.resealVault(created.vaultId, NEW, { sealedDataKey: bytes(1), rootKeyId: OLD })).rejects.toMatchObject(
        unavailable,
      );
      expect(await storage.findVault(VAULT_A)).toEqual(created);
    });

    it('shows a rotation made through a peer storage (another server node)', async (ctx) => {
      const harness = current();
      if (!harness.openPeer) return ctx.skip('this implementation has no peer storage on one database');
      const peer = await harness.openPeer();
      try {
        await beginRotation(peer);
        await expect(harness.storage.ensureVault(VAULT_A, sealedBy(OLD))).rejects.toMatchObject(unavailable);
        expect((await harness.storage.listRootKeys()).map((k) => k.state)).toEqual(['retiring', 'active']);
      } finally {
        await peer.close();
      }
    });

    it('rejects the rotation calls after close', async () => {
      const { storage } = current();
      await storage.close();
      for (const call of [
        storage.listVaults(),
        storage.resealVault('v', OLD, { sealedDataKey: bytes(1), rootKeyId: NEW }),
        storage.listRootKeys(),
        storage.addRootKey(record(OLD, 'active'), AT),
        storage.setRootKeyStates([{ keyId: OLD, from: 'active', to: 'retiring' }], AT),
      ]) {
        await expect(call).rejects.toMatchObject({ type: 'storage-failure' });
      }
    });
  });
}
