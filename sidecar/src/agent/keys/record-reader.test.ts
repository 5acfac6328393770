import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startTestAgent, startTestKeyServer, type TestAgent, type TestKeyServer } from '../../../test-helpers/keyservice.ts';
import { KeybridgeError } from '../../errors.ts';
import type { StoredSecret } from '../../protocol/keyservice.ts';
import { CiphertextCache, REFRESH_FROM, REFRESH_SPREAD } from './cache.ts';
import { AgentKeys, type SiteIdentity } from './keys.ts';
import { REFRESH_BATCH_MS } from './record-reader.ts';

/**
 * How reads reach the key service (record-reader.ts): concurrent misses coalesced and
 * batched, refresh ahead while the cached entry serves, deletions and KEK rotations made
 * elsewhere seen within the TTL, stale entries served only while the key service is away.
 * A real key service over mutual TLS; each reader is an AgentKeys on the registered
 * agent's client and site with its own cache on a fake clock. Upstream calls are counted
 * where the key service answers them (`served`).
 */
const TTL = 30_000;
const STALE = 60_000;
let server: TestKeyServer;
let agent: TestAgent;

beforeAll(async () => {
  server = await startTestKeyServer();
  agent = await startTestAgent(server);
  const registered = await agent.call('POST', '/v1/register', { email: 'reader@example.com', site_name: 'reader' });
  expect(registered.status, registered.text).toBe(200);
});

afterAll(async () => {
  await agent?.stop();
  await server?.stop();
});

function site(): SiteIdentity {
  const credentials = agent.certificates.recent();
  if (!credentials) throw new Error('not registered');
  return { siteId: credentials.siteId, siteSecret: credentials.siteSecret, environment: credentials.environment };
}

/** An AgentKeys with its own cache on a clock the test moves. */
function reader(options: { random?: () => number } = {}) {
  const clock = { now: 1_000_000 };
  const cache = new CiphertextCache<StoredSecret>({ ttlMs: TTL, staleMs: STALE, maxEntries: 1000, now: () => clock.now, ...options });
  return { keys: new AgentKeys({ client: agent.client, site, cache }), clock, cache };
}

const upstream = () => server.served.reduce((sum, count) => sum + count, 0);
const text = (value: Uint8Array) => Buffer.from(value).toString();
const nextTurn = () => new Promise((resolve) => setImmediate(resolve));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Refreshes wait up to REFRESH_BATCH_MS for company before they are sent. */
const WAIT = { timeout: REFRESH_BATCH_MS + 4000, interval: 20 };

describe('misses', () => {
  it('coalesces misses of one key while its key-service call is on the way', async () => {
    const written = await agent.keys.set('coalesce/one', new TextEncoder().encode('v1'));
    const { keys } = reader();
    const before = upstream();
    const reads = [keys.get('coalesce/one', written.wrappingKey)];
    // Later readers, each in a later turn of the event loop (so not in the first batch):
    // each joins the call on its way, or hits the cache once it has landed.
    for (let turn = 0; turn < 16; turn++) {
      await nextTurn();
      reads.push(keys.get('coalesce/one', written.wrappingKey));
    }
    const values = (await Promise.all(reads)).map((read) => text(read.value));
    expect(upstream() - before).toBe(1);
    expect(new Set(values)).toEqual(new Set(['v1']));
  });

  it('batches concurrent misses of different keys into one call, missing keys included', async () => {
    const names = Array.from({ length: 12 }, (_, index) => `batch/k${index}`);
    for (const name of names) await agent.keys.set(name, new TextEncoder().encode(name));
    const { keys } = reader();
    const before = upstream();
    const fetched = await Promise.all([...names, 'batch/absent'].map((name) => keys.fetch([name])));
    expect(upstream() - before).toBe(1);
    expect(fetched.map(([item]) => item.found)).toEqual([...names.map(() => true), false]);
    // Now all cached, the absent one too.
    await keys.fetch([...names, 'batch/absent']);
    expect(upstream() - before).toBe(1);
  });

  it('a miss after a delete through the same agent does not join a read that predates it', async () => {
    await agent.keys.set('race/deleted', new TextEncoder().encode('x'));
    const { keys } = reader();
    const early = keys.fetch(['race/deleted']);
    const deleted = keys.delete('race/deleted');
    await Promise.all([early, deleted]);
    const [after] = await keys.fetch(['race/deleted']);
    expect(after.found).toBe(false);
  });
});

describe('cached reads without a promise (getCached, fetchCached)', () => {
  it('answer only while every record is cached and fresh, as get and fetch do, and refresh ahead too', async () => {
    const written = await agent.keys.set('now/token', new TextEncoder().encode('now'));
    const { keys, clock } = reader();
    const before = upstream();
    expect(keys.getCached('now/token', written.wrappingKey)).toBeNull(); // not cached: no call made for it
    expect(keys.fetchCached(['now/token'])).toBeNull();
    expect(upstream()).toBe(before);

    const read = await keys.get('now/token', written.wrappingKey);
    expect(keys.getCached('now/token', written.wrappingKey)).toEqual(read);
    expect(keys.fetchCached(['now/token'])).toEqual(await keys.fetch(['now/token']));
    expect(keys.fetchCached(['now/token', 'now/other'])).toBeNull(); // one of them not cached
    await keys.fetch(['now/other']); // a missing key is cached as missing
    expect(keys.fetchCached(['now/token', 'now/other'])?.map((item) => item.found)).toEqual([true, false]);
    expect(() => keys.getCached('now/other', written.wrappingKey)).toThrow(expect.objectContaining({ type: 'key-not-found' }));
    expect(() => keys.getCached('../x', written.wrappingKey)).toThrow(expect.objectContaining({ type: 'invalid-name' }));
    const other = await agent.keys.set('now/other-kek', new TextEncoder().encode('x'));
    expect(() => keys.getCached('now/token', other.wrappingKey)).toThrow(expect.objectContaining({ type: 'kek-mismatch' }));

    // Past the refresh point the cached record still answers, and its refresh starts.
    const calls = upstream();
    clock.now += TTL * (REFRESH_FROM + REFRESH_SPREAD) + 1;
    expect(text(keys.getCached('now/token', written.wrappingKey)?.value ?? new Uint8Array())).toBe('now');
    await vi.waitFor(() => expect(upstream() - calls).toBe(1), WAIT);
    // Past the TTL: not fresh, so no answer without the key service.
    clock.now += TTL;
    expect(keys.getCached('now/token', written.wrappingKey)).toBeNull();
  });
});

describe('refresh ahead', () => {
  it('serves the cached entry while refreshing, then the refreshed one, without waiting', async () => {
    const first = await agent.keys.set('ahead/token', new TextEncoder().encode('old'));
    const { keys, clock } = reader();
    expect(text((await keys.get('ahead/token', first.wrappingKey)).value)).toBe('old');

    // Changed elsewhere (same KEK): this reader still holds "old".
    await agent.keys.set('ahead/token', new TextEncoder().encode('new'), { wrappingKey: first.wrappingKey });
    clock.now += TTL * (REFRESH_FROM + REFRESH_SPREAD) + 1; // past any refresh point, before the TTL
    const before = upstream();
    expect(text((await keys.get('ahead/token', first.wrappingKey)).value)).toBe('old'); // served, refresh started
    await vi.waitFor(async () => expect(text((await keys.get('ahead/token', first.wrappingKey)).value)).toBe('new'), WAIT);
    expect(upstream() - before).toBe(1);

    // The refreshed entry has a TTL of its own: still no call past the first entry's TTL.
    clock.now += TTL / 2;
    await keys.get('ahead/token', first.wrappingKey);
    expect(upstream() - before).toBe(1);
  });

  it('refreshes once per entry, not on every hit past the refresh point', async () => {
    const written = await agent.keys.set('ahead/once', new TextEncoder().encode('v'));
    const { keys, clock } = reader();
    await keys.get('ahead/once', written.wrappingKey);
    clock.now += TTL * 0.9;
    const before = upstream();
    for (let turn = 0; turn < 16; turn++) {
      await keys.get('ahead/once', written.wrappingKey);
      await nextTurn();
    }
    await vi.waitFor(() => expect(upstream() - before).toBe(1), WAIT);
    await Promise.all(Array.from({ length: 20 }, () => keys.get('ahead/once', written.wrappingKey)));
    expect(upstream() - before).toBe(1);
  });

  it('sends the refreshes of keys read together in one call', async () => {
    const names = Array.from({ length: 8 }, (_, index) => `ahead/many${index}`);
    const written: Awaited<ReturnType<AgentKeys['set']>>[] = [];
    for (const name of names) written.push(await agent.keys.set(name, new TextEncoder().encode(name)));
    const { keys, clock } = reader();
    await Promise.all(names.map((name, index) => keys.get(name, written[index].wrappingKey)));
    clock.now += TTL * 0.9;
    const before = upstream();
    // Each comes due on its own hit, in its own turn of the event loop.
    for (const [index, name] of names.entries()) {
      await keys.get(name, written[index].wrappingKey);
      await nextTurn();
    }
    await vi.waitFor(() => expect(upstream() - before).toBe(1), WAIT);
    await sleep(50);
    expect(upstream() - before).toBe(1);
  });

  it('a reader that needs a key whose refresh is waiting does not wait for the others', async () => {
    const written = await agent.keys.set('ahead/needed', new TextEncoder().encode('v'));
    const { keys, clock } = reader();
    await keys.get('ahead/needed', written.wrappingKey);
    clock.now += TTL * 0.9;
    await keys.get('ahead/needed', written.wrappingKey); // refresh queued, waiting for company
    clock.now += TTL; // now expired: the next reader must fetch, and gets the queued refresh sent
    const started = performance.now();
    const before = upstream();
    expect(text((await keys.get('ahead/needed', written.wrappingKey)).value)).toBe('v');
    expect(performance.now() - started).toBeLessThan(REFRESH_BATCH_MS);
    expect(upstream() - before).toBe(1);
    await sleep(REFRESH_BATCH_MS + 100); // the refresh's own timer finds nothing left to send
    expect(upstream() - before).toBe(1);
  });

  it('spreads refresh points of keys stored together between 2/3 and 5/6 of the TTL', () => {
    const clock = { now: 0 };
    let draw = 0;
    const draws = [0, 0.5, 0.999];
    const cache = new CiphertextCache<string>({
      ttlMs: 600,
      staleMs: 0,
      maxEntries: 10,
      now: () => clock.now,
      random: () => draws[draw++],
    });
    for (const id of ['a', 'b', 'c']) cache.store(id, id);
    const dueAt = (id: string) => {
      for (clock.now = 0; clock.now < 600; clock.now++) {
        const hit = cache.lookup(id);
        if (hit.state === 'fresh' && hit.refreshDue) return clock.now;
      }
      return null;
    };
    expect([dueAt('a'), dueAt('b'), dueAt('c')]).toEqual([400, 450, 500]);
  });
});

describe('changes made elsewhere are seen within the TTL', () => {
  it('a deletion', async () => {
    await agent.keys.set('elsewhere/deleted', new TextEncoder().encode('v'));
    // Refresh point pinned at 5/6 of the TTL: no refresh before the clock passes it.
    const { keys, clock } = reader({ random: () => 0.999999 });
    expect((await keys.fetch(['elsewhere/deleted']))[0].found).toBe(true);
    await agent.keys.delete('elsewhere/deleted');
    clock.now += TTL / 2;
    expect((await keys.fetch(['elsewhere/deleted']))[0].found).toBe(true); // inside the TTL: cached
    clock.now += TTL / 2;
    expect((await keys.fetch(['elsewhere/deleted']))[0].found).toBe(false);
  });

  it('a KEK rotation', async () => {
    const first = await agent.keys.set('elsewhere/rotated', new TextEncoder().encode('v'));
    const { keys, clock } = reader();
    await keys.get('elsewhere/rotated', first.wrappingKey);
    const rotated = await agent.keys.rotate('elsewhere/rotated', first.wrappingKey);
    clock.now += TTL;
    await expect(keys.get('elsewhere/rotated', first.wrappingKey)).rejects.toMatchObject({ type: 'kek-mismatch' });
    expect(text((await keys.get('elsewhere/rotated', rotated.wrappingKey)).value)).toBe('v');
  });
});

describe('while the key service is unreachable', () => {
  it('serves fresh entries (a failed refresh changes nothing), then stale ones, then fails', async () => {
    const own = await startTestKeyServer({ nodes: 1 });
    const ownAgent = await startTestAgent(own, { client: { backoff: { initialMs: 1, maxMs: 1 } } });
    try {
      expect((await ownAgent.call('POST', '/v1/register', { email: 'outage@example.com', site_name: 'outage' })).status).toBe(200);
      const written = await ownAgent.keys.set('outage/k', new TextEncoder().encode('kept'));
      const clock = { now: 1_000_000 };
      const cache = new CiphertextCache<StoredSecret>({ ttlMs: TTL, staleMs: STALE, maxEntries: 10, now: () => clock.now });
      const credentials = () => {
        const current = ownAgent.certificates.recent();
        if (!current) throw new Error('not registered');
        return { siteId: current.siteId, siteSecret: current.siteSecret, environment: current.environment };
      };
      const keys = new AgentKeys({ client: ownAgent.client, site: credentials, cache });
      await keys.get('outage/k', written.wrappingKey);
      await own.close();

      const attempts = () => ownAgent.client.health()[0].failures;
      clock.now += TTL * 0.9; // refresh due: it fails in the background
      expect(text((await keys.get('outage/k', written.wrappingKey)).value)).toBe('kept');
      await vi.waitFor(() => expect(attempts()).toBe(1), WAIT);
      // The failed refresh is not retried on every hit: the entry serves until its TTL.
      for (let hit = 0; hit < 5; hit++) {
        expect(text((await keys.get('outage/k', written.wrappingKey)).value)).toBe('kept');
        await sleep(5);
      }
      expect(attempts()).toBe(1);
      expect(keys.lastStaleServeAt).toBeNull();

      clock.now += TTL; // stale: served because the key service is unreachable
      const reads = await Promise.all(Array.from({ length: 8 }, () => keys.get('outage/k', written.wrappingKey)));
      expect(reads.map((read) => text(read.value))).toEqual(Array(8).fill('kept'));
      expect(keys.lastStaleServeAt).not.toBeNull();
      await expect(keys.fetch(['outage/never-read'])).rejects.toMatchObject({ type: 'keyservice-unavailable' });

      clock.now += STALE; // past the stale window
      const late = await keys.get('outage/k', written.wrappingKey).catch((error: unknown) => error);
      expect(late).toBeInstanceOf(KeybridgeError);
      expect(late).toMatchObject({ type: 'keyservice-unavailable' });
    } finally {
      await ownAgent.stop();
      await own.stop();
    }
  });
});
