import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KeybridgeError } from '../errors.ts';
import type { KeyServiceClient } from '../protocol/keyservice.ts';
import { bindInProcess } from './in-process-client.ts';
import { buildSecret, makeFixture, makeSite, rejection, type Fixture } from './test-fixture.ts';

let fx: Fixture;
beforeEach(async () => {
  fx = await makeFixture();
});
afterEach(async () => {
  await fx.cleanup();
});

function everyCall(client: KeyServiceClient, keyId: string, request: Parameters<KeyServiceClient['put']>[0]): Promise<unknown>[] {
  return [client.info(), client.put(request), client.get([keyId]), client.list(), client.delete(keyId)];
}

describe('bindInProcess', () => {
  it('serves the bound identity like a remote client, with copies of every result', async () => {
    const site = makeSite();
    const identity = { ...site.identity };
    const client = bindInProcess(fx.service, identity);
    identity.siteId = 'someone_else';
    const { request } = buildSecret(site, 'n', 'v');
    const sent = { ...request };
    const put = client.put(sent);
    sent.ciphertext = 'kb1.changed';
    expect((await put).version).toBe(1);
    const [first] = await client.get([request.keyId]);
    expect(first?.ciphertext).toBe(request.ciphertext);
    first!.ciphertext = 'mutated';
    const [second] = await client.get([request.keyId]);
    expect(second?.ciphertext).toBe(request.ciphertext);
    expect(second).not.toBe(first);
    expect(await fx.service.list(site.identity)).toHaveLength(1);
    expect(await client.info()).toMatchObject({ region: 'eu', atRest: { kind: 'software' } });
  });

  it('passes request errors through as a remote client would rebuild them', async () => {
    const client = bindInProcess(fx.service, makeSite().identity);
    const error = await rejection(client.delete('bad'));
    expect(error).toBeInstanceOf(KeybridgeError);
    expect(error).toMatchObject({ type: 'invalid-field', field: 'keyId', status: 422 });
    expect(error.cause).toBeUndefined();
  });

  it('rejects every call with keyservice-unavailable once the service is closed', async () => {
    const site = makeSite();
    const client = bindInProcess(fx.service, site.identity);
    const { request } = buildSecret(site, 'n', 'v');
    await client.put(request);
    await fx.service.close();
    for (const call of everyCall(client, request.keyId, request)) {
      await expect(call).rejects.toMatchObject({ type: 'keyservice-unavailable', status: 503 });
    }
  });

  it('turns storage and root key failures into keyservice-unavailable', async () => {
    const site = makeSite();
    const client = bindInProcess(fx.service, site.identity);
    const { request } = buildSecret(site, 'n', 'v');
    await client.put(request);
    await fx.storage.close();
    for (const call of everyCall(client, request.keyId, request).slice(1)) {
      await expect(call).rejects.toMatchObject({ type: 'keyservice-unavailable', message: /storage-failure/ });
    }
    const other = await makeFixture();
    try {
      const otherClient = bindInProcess(other.service, site.identity);
      await other.rootKey.close();
      await expect(otherClient.put(request)).rejects.toMatchObject({ type: 'keyservice-unavailable', message: /root-key-unavailable/ });
    } finally {
      await other.cleanup();
    }
  });

  it('lets running calls finish when the service closes', async () => {
    const site = makeSite();
    const client = bindInProcess(fx.service, site.identity);
    const puts = Array.from({ length: 20 }, (_, i) => client.put(buildSecret(site, `k${i}`, 'v').request));
    const closing = fx.service.close();
    const results = await Promise.allSettled(puts);
    await closing;
    expect(results.map((r) => r.status)).toEqual(Array(20).fill('fulfilled'));
    await expect(client.list()).rejects.toMatchObject({ type: 'keyservice-unavailable' });
  });
});
