import { afterAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import type { RootKey } from '../src/sealing/root-key.ts';

/** Opens the root key kept in one place (a key file, a token label): every call opens the same key. */
export type RootKeyOpener = () => Promise<RootKey>;

/**
 * What every RootKey must do, whatever holds the key: the key service is written against the
 * interface, so the software key and an HSM key must be interchangeable behind it.
 *
 * `newPlace` must return an opener for a new place on each call, so that each place holds a key
 * of its own (the "another root key cannot open it" check needs two); opening one place again
 * must give the same key (the "stable key id" check closes and reopens it). An implementation
 * without an optional method (`probe`, `destroy`) shows as a skipped test naming what it lacks.
 * The suite closes what it opened.
 */
export function rootKeyConformance(name: string, newPlace: () => RootKeyOpener): void {
  describe(`RootKey conformance: ${name}`, () => {
    const made: RootKey[] = [];
    const track = (key: RootKey): RootKey => {
      made.push(key);
      return key;
    };
    const make = async (): Promise<RootKey> => track(await newPlace()());
    afterAll(async () => {
      for (const key of made.splice(0)) await key.close();
    });

    const rejectsUnavailable = (promise: Promise<unknown>) =>
      expect(promise).rejects.toMatchObject({ name: 'KeybridgeError', type: 'root-key-unavailable', status: 503 });

    it('describes itself: a kind, a description and a short hex key id', async () => {
      const key = await make();
      expect(['software', 'pkcs11']).toContain(key.kind);
      expect(key.description.length).toBeGreaterThan(0);
      expect(key.keyId).toMatch(/^[0-9a-f]{16,64}$/);
    });

    it('keeps a stable key id: reopened, the same key has the same id and opens what it sealed', async () => {
      // Storage records which root key sealed each vault by this id: it must survive a restart.
      const open = newPlace();
      const first = track(await open());
      const dataKey = new Uint8Array(randomBytes(32));
      const wrapped = await first.wrapDataKey(dataKey);
      const { keyId } = first;
      await first.close();
      const reopened = track(await open());
      expect(reopened.keyId).toBe(keyId);
      expect(Buffer.from(await reopened.unwrapDataKey(wrapped)).equals(Buffer.from(dataKey))).toBe(true);
      expect(track(await newPlace()()).keyId).not.toBe(keyId);
    });

    it('round-trips data keys of 16, 32 and 64 bytes without touching the input', async () => {
      const key = await make();
      for (const size of [16, 32, 64]) {
        const dataKey = new Uint8Array(randomBytes(size));
        const copy = dataKey.slice();
        const wrapped = await key.wrapDataKey(dataKey);
        expect(wrapped).toBeInstanceOf(Uint8Array);
        expect(wrapped.length).toBeGreaterThan(size);
        expect(Buffer.from(wrapped).includes(Buffer.from(dataKey))).toBe(false);
        const opened = await key.unwrapDataKey(wrapped);
        expect(opened).toBeInstanceOf(Uint8Array);
        expect(Buffer.from(opened).equals(Buffer.from(dataKey))).toBe(true);
        expect(dataKey).toEqual(copy);
      }
    });

    it('opens a data key it sealed long ago, i.e. after many other seals', async () => {
      const key = await make();
      const dataKey = new Uint8Array(randomBytes(32));
      const wrapped = await key.wrapDataKey(dataKey);
      await Promise.all(Array.from({ length: 20 }, () => key.wrapDataKey(new Uint8Array(randomBytes(32)))));
      expect(Buffer.from(await key.unwrapDataKey(wrapped)).equals(Buffer.from(dataKey))).toBe(true);
    });

    it("rejects altered, truncated, empty and another root key's sealed keys with root-key-unavailable", async () => {
      const key = await make();
      const other = await make();
      expect(other.keyId).not.toBe(key.keyId);
      const wrapped = await key.wrapDataKey(new Uint8Array(randomBytes(32)));
      for (const index of [0, wrapped.length >> 1, wrapped.length - 1]) {
        const altered = wrapped.slice();
        altered[index] ^= 0x01;
        await rejectsUnavailable(key.unwrapDataKey(altered));
      }
      await rejectsUnavailable(key.unwrapDataKey(wrapped.subarray(0, wrapped.length - 8)));
      await rejectsUnavailable(key.unwrapDataKey(new Uint8Array(0)));
      await rejectsUnavailable(other.unwrapDataKey(wrapped));
      // Failures do not break the key: the original still opens.
      expect((await key.unwrapDataKey(wrapped)).length).toBe(32);
    });

    it('serves concurrent callers', async () => {
      const key = await make();
      const dataKeys = Array.from({ length: 100 }, () => new Uint8Array(randomBytes(32)));
      const opened = await Promise.all(dataKeys.map(async (d) => key.unwrapDataKey(await key.wrapDataKey(d))));
      opened.forEach((o, i) => expect(Buffer.from(o).equals(Buffer.from(dataKeys[i]))).toBe(true));
    });

    it('probes cheaply while usable, and rejects the probe once closed', async (ctx) => {
      const key = await make();
      if (!key.probe) return ctx.skip('this implementation has no probe');
      await key.probe();
      await Promise.all(Array.from({ length: 10 }, () => key.probe!()));
      await key.close();
      await rejectsUnavailable(key.probe());
    });

    it('destroys itself: every later call rejects, and a second destroy finds it closed', async (ctx) => {
      const key = await make();
      if (!key.destroy) return ctx.skip('this implementation has no destroy');
      const wrapped = await key.wrapDataKey(new Uint8Array(randomBytes(32)));
      await key.destroy();
      await rejectsUnavailable(key.unwrapDataKey(wrapped));
      await rejectsUnavailable(key.wrapDataKey(new Uint8Array(randomBytes(32))));
      await rejectsUnavailable(key.destroy());
    });

    it('rejects every call with root-key-unavailable once closed; closing twice is harmless', async () => {
      const key = await make();
      const wrapped = await key.wrapDataKey(new Uint8Array(randomBytes(32)));
      await key.close();
      await key.close();
      await rejectsUnavailable(key.wrapDataKey(new Uint8Array(randomBytes(32))));
      await rejectsUnavailable(key.unwrapDataKey(wrapped));
    });
  });
}
