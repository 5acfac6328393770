import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startEmbedded } from '../../test-helpers/embedded.ts';

/**
 * A key service that goes away: reads are served from the ciphertext cache within the
 * stale window, writes are refused with a clear problem, and nothing is lost once it
 * comes back.
 */
const home = mkdtempSync(join(tmpdir(), 'kb-outage-'));
afterAll(() => rmSync(home, { recursive: true, force: true }));

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const text = (json: { value_base64: string }) => Buffer.from(json.value_base64, 'base64').toString();

describe('key service outage', () => {
  it('serves cached reads inside the stale window, refuses writes, loses nothing', async () => {
    const agent = await startEmbedded({ home, cache: { ttlMs: 50, staleMs: 60_000 } });
    const a = await agent.call('POST', '/v1/keys/set', { name: 'outage/a', value: 'alpha' });
    const b = await agent.call('POST', '/v1/keys/set', { name: 'outage/b', value: 'beta' });
    await agent.call('POST', '/v1/keys/get', { name: 'outage/a', wrapping_key: a.json.wrapping_key });

    await agent.instance.stopKeyService();
    await sleep(80); // past the TTL: the entry is stale, not fresh

    const cached = await agent.call('POST', '/v1/keys/get', { name: 'outage/a', wrapping_key: a.json.wrapping_key });
    expect(cached.status).toBe(200);
    expect(text(cached.json)).toBe('alpha');
    const fetched = await agent.call('POST', '/v1/keys/fetch', { names: ['outage/a'] });
    expect(fetched.json.keys[0].found).toBe(true);

    // outage/b was written through this agent, so it is cached too; a key never seen is not.
    const never = await agent.call('POST', '/v1/keys/fetch', { names: ['outage/never-read'] });
    expect(never.status).toBe(503);
    expect(never.json.type).toBe('keyservice-unavailable');

    const write = await agent.call('POST', '/v1/keys/set', { name: 'outage/c', value: 'gamma' });
    expect(write.status).toBe(503);
    expect(write.json.type).toBe('keyservice-unavailable');
    const del = await agent.call('POST', '/v1/keys/delete', { name: 'outage/a' });
    expect(del.json.type).toBe('keyservice-unavailable');

    const status = await agent.call('GET', '/v1/status');
    expect(status.status).toBe(200);
    expect(status.json.rows.find((row: { id: string }) => row.id === 'keyservice')).toMatchObject({ severity: 'error' });
    await agent.stop();

    // Back up on the same home: everything acknowledged is there, the refused write is not.
    const again = await startEmbedded({ home });
    const readA = await again.call('POST', '/v1/keys/get', { name: 'outage/a', wrapping_key: a.json.wrapping_key });
    const readB = await again.call('POST', '/v1/keys/get', { name: 'outage/b', wrapping_key: b.json.wrapping_key });
    expect([text(readA.json), text(readB.json)]).toEqual(['alpha', 'beta']);
    const listing = await again.call('GET', '/v1/keys');
    expect(listing.json.keys.map((key: { name: string }) => key.name)).toEqual(['outage/a', 'outage/b']);
    await again.stop();
  });

  it('stops serving once the stale window has passed', async () => {
    const agent = await startEmbedded({ cache: { ttlMs: 20, staleMs: 40 } });
    const a = await agent.call('POST', '/v1/keys/set', { name: 'short', value: 'v' });
    await agent.instance.stopKeyService();
    await sleep(100);
    const read = await agent.call('POST', '/v1/keys/get', { name: 'short', wrapping_key: a.json.wrapping_key });
    expect(read.status).toBe(503);
    expect(read.json.type).toBe('keyservice-unavailable');
    await agent.stop();
  });
});
