import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PutSecretRequest } from '../protocol/keyservice.ts';
import { buildSecret, makeFixture, makeSite, rejection, type Fixture } from '../../test-helpers/key-service-fixture.ts';

let fx: Fixture;
beforeAll(async () => {
  fx = await makeFixture();
});
afterAll(async () => {
  await fx.cleanup();
});

const site = makeSite();
const good = buildSecret(site, 'name', 'value', 'label').request;
const SECRETISH = 'Zm9vYmFyU0VDUkVU';

describe('KeyService input validation', () => {
  const badPuts: [string, Record<string, unknown>, string][] = [
    ['keyId upper case', { keyId: good.keyId.toUpperCase() }, 'keyId'],
    ['keyId short', { keyId: good.keyId.slice(1) }, 'keyId'],
    ['keyId missing', { keyId: undefined }, 'keyId'],
    ['sealedName empty', { sealedName: '' }, 'sealedName'],
    ['sealedName padded base64', { sealedName: `${SECRETISH}==` }, 'sealedName'],
    ['sealedName too long', { sealedName: 'A'.repeat(4097) }, 'sealedName'],
    ['sealedName not a string', { sealedName: 42 }, 'sealedName'],
    ['sealedLabel too long', { sealedLabel: 'A'.repeat(4097) }, 'sealedLabel'],
    ['sealedLabel missing', { sealedLabel: undefined }, 'sealedLabel'],
    ['kekId 21 characters', { kekId: good.kekId.slice(1) }, 'kekId'],
    ['kekId with +', { kekId: `+${good.kekId.slice(1)}` }, 'kekId'],
    ['ciphertext without prefix', { ciphertext: SECRETISH }, 'ciphertext'],
    ['ciphertext kb2', { ciphertext: `kb2.${SECRETISH}` }, 'ciphertext'],
    ['ciphertext empty body', { ciphertext: 'kb1.' }, 'ciphertext'],
    ['ciphertext bad characters', { ciphertext: `kb1.${SECRETISH}/+` }, 'ciphertext'],
    ['ciphertext too large', { ciphertext: `kb1.${'A'.repeat(96 * 1024 - 3)}` }, 'ciphertext'],
    ['unknown field', { environment: 'production' }, 'environment'],
  ];
  for (const [title, change, field] of badPuts) {
    it(`refuses a put with ${title}, naming the field and not the value`, async () => {
      const request = { ...good, ...change } as Record<string, unknown>;
      for (const key of Object.keys(change)) if (change[key] === undefined) delete request[key];
      const error = await rejection(fx.service.put(site.identity, request as unknown as PutSecretRequest));
      expect(error).toMatchObject({ type: 'invalid-field', status: 422, field });
      expect(error.message).not.toContain(SECRETISH);
    });
  }

  it('refuses a request that is not an object', async () => {
    for (const request of [null, 'x', [good]]) {
      await expect(fx.service.put(site.identity, request as unknown as PutSecretRequest)).rejects.toMatchObject({
        type: 'bad-request',
      });
    }
  });

  it('accepts the largest allowed sizes', async () => {
    const largest = {
      ...good,
      sealedName: 'A'.repeat(4096),
      sealedLabel: 'B'.repeat(4096),
      ciphertext: `kb1.${'C'.repeat(96 * 1024 - 4)}`,
    };
    expect((await fx.service.put(site.identity, largest)).version).toBeGreaterThanOrEqual(1);
    expect((await fx.service.get(site.identity, [good.keyId]))[0]).toMatchObject(largest);
  });

  it('refuses bad get requests by field', async () => {
    await expect(fx.service.get(site.identity, 'x' as unknown as string[])).rejects.toMatchObject({ field: 'keyIds' });
    await expect(fx.service.get(site.identity, Array(1001).fill(good.keyId))).rejects.toMatchObject({ field: 'keyIds' });
    await expect(fx.service.get(site.identity, [good.keyId, good.keyId, 'nope'])).rejects.toMatchObject({
      type: 'invalid-field',
      field: 'keyIds[2]',
    });
    expect(await fx.service.get(site.identity, Array(1000).fill(good.keyId))).toHaveLength(1000);
  });

  it('refuses a bad delete id', async () => {
    await expect(fx.service.delete(site.identity, 'A'.repeat(64))).rejects.toMatchObject({ field: 'keyId' });
  });
});
