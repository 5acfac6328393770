import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KeybridgeError } from '../../src/errors.ts';
import type { SealedDataKey, Storage, VaultKey } from '../../src/storage/types.ts';
import { auditConformance } from './audit.ts';
import { rootKeyConformance } from './root-keys.ts';
import { AUDIT, KEY_1, KEY_2, KEY_3, VAULT_A, bytes, newVault, sealedKey } from './fixtures.ts';
import type { MakeStorage, StorageHarness } from './fixtures.ts';

export type { MakeStorage, StorageHarness } from './fixtures.ts';

/**
 * The one test suite every `Storage` backend must pass (SQLite now, PostgreSQL later).
 * A backend's test file calls `storageConformanceSuite('sqlite', makeStorage)`.
 */
export function storageConformanceSuite(name: string, makeStorage: MakeStorage): void {
  describe(`Storage conformance: ${name}`, () => {
    let harness: StorageHarness;
    let storage: Storage;
    beforeEach(async () => {
      harness = await makeStorage();
      storage = harness.storage;
    });
    afterEach(async () => {
      await harness.storage.close().catch(() => undefined);
      await harness.cleanup();
    });

    describe('vaults', () => {
      it('finds nothing before a vault exists', async () => {
        expect(await storage.findVault(VAULT_A)).toBeNull();
      });

      it('creates a vault once and returns the same record afterwards', async () => {
        let calls = 0;
        const make = async (): Promise<SealedDataKey> => {
          calls += 1;
          return { sealedDataKey: bytes(0, 1, 2, 255, 0), rootKeyId: 'abcd0123abcd0123' };
        };
        const created = await storage.ensureVault(VAULT_A, make);
        expect(created.vaultId).toMatch(/\S/);
        expect(created.sealedDataKey).toEqual(bytes(0, 1, 2, 255, 0));
        expect(created.rootKeyId).toBe('abcd0123abcd0123');
        expect(await storage.ensureVault(VAULT_A, make)).toEqual(created);
        expect(await storage.findVault(VAULT_A)).toEqual(created);
        expect(calls).toBe(1);
      });

      it('keeps one vault per (site, environment, region)', async () => {
        const keys: VaultKey[] = [
          VAULT_A,
          { ...VAULT_A, environment: 'production' },
          { ...VAULT_A, region: 'us' },
          { ...VAULT_A, siteId: 'site_beta' },
        ];
        const ids = new Set<string>();
        for (const key of keys) ids.add((await storage.ensureVault(key, sealedKey())).vaultId);
        expect(ids.size).toBe(4);
      });

      it('is race-safe: concurrent creators all get the winner', async () => {
        const results = await Promise.all(Array.from({ length: 20 }, (_, i) => storage.ensureVault(VAULT_A, sealedKey(i + 1))));
        expect(new Set(results.map((r) => r.vaultId)).size).toBe(1);
        for (const result of results) expect(result).toEqual(results[0]);
        expect(await storage.findVault(VAULT_A)).toEqual(results[0]);
      });

      it('creates nothing when making the sealed data key fails', async () => {
        await expect(
          storage.ensureVault(VAULT_A, async () => {
            throw new KeybridgeError('root-key-unavailable', 'test');
          }),
        ).rejects.toMatchObject({ type: 'root-key-unavailable' });
        expect(await storage.findVault(VAULT_A)).toBeNull();
      });
    });

    describe('secrets', () => {
      it('upserts with versions 1, 2, … and reads back what was written', async () => {
        const { vaultId } = await newVault(storage);
        const first = await storage.upsertSecret(
          { vaultId, keyId: KEY_1, meta: bytes(1), value: bytes(2), at: '2025-01-01T00:00:00.000Z' },
          AUDIT,
        );
        expect(first).toEqual({ version: 1, updatedAt: '2025-01-01T00:00:00.000Z' });
        const second = await storage.upsertSecret(
          { vaultId, keyId: KEY_1, meta: bytes(3), value: bytes(4, 5), at: '2025-01-02T00:00:00.000Z' },
          AUDIT,
        );
        expect(second).toEqual({ version: 2, updatedAt: '2025-01-02T00:00:00.000Z' });
        const got = await storage.getSecrets(vaultId, [KEY_1]);
        expect([...got.keys()]).toEqual([KEY_1]);
        expect(got.get(KEY_1)).toEqual({
          keyId: KEY_1,
          meta: bytes(3),
          value: bytes(4, 5),
          version: 2,
          updatedAt: '2025-01-02T00:00:00.000Z',
          reads: 0,
        });
      });

      it('gets many, skipping unknown and duplicate ids', async () => {
        const { vaultId } = await newVault(storage);
        for (const keyId of [KEY_1, KEY_2]) {
          await storage.upsertSecret({ vaultId, keyId, meta: bytes(1), value: bytes(9), at: AUDIT.at }, AUDIT);
        }
        const got = await storage.getSecrets(vaultId, [KEY_2, KEY_3, KEY_1, KEY_2]);
        expect(new Set(got.keys())).toEqual(new Set([KEY_1, KEY_2]));
        expect((await storage.getSecrets(vaultId, [])).size).toBe(0);
      });

      it('lists metadata ordered by key id, without values', async () => {
        const { vaultId } = await newVault(storage);
        for (const keyId of [KEY_3, KEY_1, KEY_2]) {
          await storage.upsertSecret({ vaultId, keyId, meta: bytes(8), value: bytes(9), at: AUDIT.at }, AUDIT);
        }
        const listed = await storage.listSecrets(vaultId);
        expect(listed.map((m) => m.keyId)).toEqual([KEY_1, KEY_2, KEY_3]);
        expect(listed[0]).toEqual({ keyId: KEY_1, meta: bytes(8), version: 1, updatedAt: AUDIT.at, reads: 0 });
        expect(listed[0]).not.toHaveProperty('value');
      });

      it('deletes, and never reuses a version after a delete', async () => {
        const { vaultId } = await newVault(storage);
        const write = { vaultId, keyId: KEY_1, meta: bytes(1), value: bytes(2), at: AUDIT.at };
        await storage.upsertSecret(write, AUDIT);
        await storage.upsertSecret(write, AUDIT);
        await storage.recordReads(vaultId, [KEY_1]);
        expect(await storage.deleteSecret(vaultId, KEY_1, { ...AUDIT, op: 'delete' })).toBe(true);
        expect(await storage.deleteSecret(vaultId, KEY_1, { ...AUDIT, op: 'delete' })).toBe(false);
        expect((await storage.getSecrets(vaultId, [KEY_1])).size).toBe(0);
        expect(await storage.listSecrets(vaultId)).toEqual([]);
        await storage.recordReads(vaultId, [KEY_1]);
        const again = await storage.upsertSecret(write, AUDIT);
        expect(again.version).toBe(3);
        expect((await storage.getSecrets(vaultId, [KEY_1])).get(KEY_1)?.reads).toBe(0);
      });

      it('keeps vaults apart even with the same key id', async () => {
        const a = await newVault(storage);
        const b = await newVault(storage, { ...VAULT_A, environment: 'production' });
        await storage.upsertSecret({ vaultId: a.vaultId, keyId: KEY_1, meta: bytes(1), value: bytes(1), at: AUDIT.at }, AUDIT);
        expect((await storage.getSecrets(b.vaultId, [KEY_1])).size).toBe(0);
        expect(await storage.listSecrets(b.vaultId)).toEqual([]);
        expect(await storage.deleteSecret(b.vaultId, KEY_1, AUDIT)).toBe(false);
        await storage.upsertSecret({ vaultId: b.vaultId, keyId: KEY_1, meta: bytes(2), value: bytes(2), at: AUDIT.at }, AUDIT);
        expect((await storage.getSecrets(a.vaultId, [KEY_1])).get(KEY_1)?.value).toEqual(bytes(1));
        expect((await storage.getSecrets(b.vaultId, [KEY_1])).get(KEY_1)?.version).toBe(1);
      });

      it('refuses a secret for a vault that does not exist', async () => {
        await expect(
          storage.upsertSecret({ vaultId: 'no-such-vault', keyId: KEY_1, meta: bytes(1), value: bytes(1), at: AUDIT.at }, AUDIT),
        ).rejects.toBeInstanceOf(KeybridgeError);
        expect(await storage.listAudit({ vaultId: 'no-such-vault' })).toEqual([]);
      });

      it('counts reads once per id per call, and only for existing keys', async () => {
        const { vaultId } = await newVault(storage);
        await storage.upsertSecret({ vaultId, keyId: KEY_1, meta: bytes(1), value: bytes(1), at: AUDIT.at }, AUDIT);
        await storage.recordReads(vaultId, [KEY_1, KEY_1, KEY_2]);
        await storage.recordReads(vaultId, [KEY_1]);
        await storage.recordReads(vaultId, []);
        expect((await storage.getSecrets(vaultId, [KEY_1])).get(KEY_1)?.reads).toBe(2);
        expect((await storage.listSecrets(vaultId))[0].reads).toBe(2);
        await storage.upsertSecret({ vaultId, keyId: KEY_1, meta: bytes(1), value: bytes(1), at: AUDIT.at }, AUDIT);
        expect((await storage.listSecrets(vaultId))[0].reads).toBe(2);
      });

      it('stores binary blobs and unicode text exactly, and 64 kB values', async () => {
        const all = Uint8Array.from({ length: 256 }, (_, i) => i);
        const large = Uint8Array.from({ length: 64 * 1024 }, (_, i) => (i * 7919 + 13) & 0xff);
        const site: VaultKey = { siteId: 'sïte-ünïcode-🔑', environment: 'production', region: 'eu-west-1' };
        const { vaultId } = await storage.ensureVault(site, async () => ({ sealedDataKey: all, rootKeyId: 'r' }));
        expect((await storage.findVault(site))?.sealedDataKey).toEqual(all);
        const audit = { at: AUDIT.at, actor: 'CN=Zoë Ångström 🔐,O="Acme; Inc"', op: 'put' };
        await storage.upsertSecret({ vaultId, keyId: KEY_1, meta: all, value: large, at: AUDIT.at }, audit);
        const got = (await storage.getSecrets(vaultId, [KEY_1])).get(KEY_1);
        expect(got?.meta).toEqual(all);
        expect(got?.value.length).toBe(large.length);
        expect(Buffer.from(got!.value).equals(Buffer.from(large))).toBe(true);
        expect((await storage.listAudit({ actor: audit.actor })).map((e) => e.actor)).toEqual([audit.actor]);
      });
    });

    describe('concurrency', () => {
      it('gives 100 concurrent upserts of one key the versions 1..100, no duplicates', async () => {
        const { vaultId } = await newVault(storage);
        const versions = await Promise.all(
          Array.from({ length: 100 }, (_, i) =>
            storage.upsertSecret({ vaultId, keyId: KEY_1, meta: bytes(i), value: bytes(i), at: AUDIT.at }, AUDIT).then((r) => r.version),
          ),
        );
        expect([...versions].sort((x, y) => x - y)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
        expect((await storage.getSecrets(vaultId, [KEY_1])).get(KEY_1)?.version).toBe(100);
        expect(await storage.listAudit({ vaultId, keyId: KEY_1 })).toHaveLength(100);
      });

      it('stays consistent across two storages on one database', async (ctx) => {
        if (!harness.openPeer) return ctx.skip('this implementation has no peer storage on one database');
        const peer = await harness.openPeer();
        try {
          const [mine, theirs] = await Promise.all([newVault(storage), newVault(peer)]);
          expect(theirs.vaultId).toBe(mine.vaultId);
          const write = (s: Storage, i: number): Promise<number> =>
            s
              .upsertSecret({ vaultId: mine.vaultId, keyId: KEY_2, meta: bytes(i), value: bytes(i), at: AUDIT.at }, AUDIT)
              .then((r) => r.version);
          const versions = await Promise.all(Array.from({ length: 40 }, (_, i) => write(i % 2 ? peer : storage, i)));
          expect([...versions].sort((x, y) => x - y)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
        } finally {
          await peer.close();
        }
      });
    });

    auditConformance(() => harness);
    rootKeyConformance(() => harness);

    describe('close', () => {
      it('rejects every call after close, and close twice is fine', async () => {
        const { vaultId } = await newVault(storage);
        await storage.close();
        await storage.close();
        const calls: Promise<unknown>[] = [
          storage.findVault(VAULT_A),
          storage.ensureVault(VAULT_A, sealedKey()),
          storage.upsertSecret({ vaultId, keyId: KEY_1, meta: bytes(1), value: bytes(1), at: AUDIT.at }, AUDIT),
          storage.getSecrets(vaultId, [KEY_1]),
          storage.listSecrets(vaultId),
          storage.deleteSecret(vaultId, KEY_1, AUDIT),
          storage.recordReads(vaultId, [KEY_1]),
          storage.appendAudit({ ...AUDIT, result: 'ok' }),
          storage.listAudit(),
        ];
        for (const call of calls) await expect(call).rejects.toMatchObject({ type: 'storage-failure' });
      });
    });
  });
}
