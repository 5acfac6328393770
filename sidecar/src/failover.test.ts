import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { keyPages } from '../test-helpers/agent-caller.ts';
import {
  MULTI_NODE_BACKEND,
  TEST_BACKEND,
  startTestAgent,
  startTestKeyServer,
  workerBackend,
  type TestAgent,
  type TestKeyServer,
} from '../test-helpers/keyservice.ts';
import { rawRequest, tlsAgent } from '../test-helpers/mtls.ts';

/**
 * Faults of the parts behind the agent, each with real components: a key-service node killed
 * under load, the HSM (SoftHSM token directory) vanishing, PostgreSQL restarting. The first
 * runs on both backends (sqlite-software: two nodes over one SQLite handle in this process);
 * the other two need PostgreSQL and SoftHSM and run in the postgres-softhsm pass of
 * scripts/test-all.mjs (KEYBRIDGE_TEST_BACKEND=postgres-softhsm).
 */
const NEEDS_PG_HSM = 'needs PostgreSQL and SoftHSM: runs with KEYBRIDGE_TEST_BACKEND=postgres-softhsm (second pass of npm test)';
const work = mkdtempSync(join(tmpdir(), 'kb-faults-'));
const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const stop of cleanup.splice(0).reverse()) await stop().catch(() => undefined);
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const text = (json: { value_base64: string }) => Buffer.from(json.value_base64, 'base64').toString();

async function keyServer(options: Parameters<typeof startTestKeyServer>[0] = {}): Promise<TestKeyServer> {
  const server = await startTestKeyServer(options);
  cleanup.push(() => server.stop());
  return server;
}

/** An agent of a newly registered site, or of an existing one when `certDir` already holds its certificate. */
async function siteAgent(
  server: TestKeyServer,
  name: string,
  options: Parameters<typeof startTestAgent>[1] = {},
  register = true,
): Promise<TestAgent> {
  const agent = await startTestAgent(server, { certDir: join(work, name, 'certs'), ...options });
  cleanup.push(() => agent.stop());
  if (register) {
    const response = await agent.call('POST', '/v1/register', {
      email: `${name}@example.com`,
      password: 'a long enough password',
      site_name: name,
    });
    expect(response.status, response.text).toBe(200);
  }
  return agent;
}

interface Outcome {
  kind: 'read' | 'write';
  start: number;
  end: number;
  status: number;
  type?: string;
}

/** A write that was answered 200: it must be readable later with this value. */
interface Acknowledged {
  name: string;
  value: string;
  wrappingKey: string;
}

async function write(agent: TestAgent, name: string, value: string, log: Outcome[], acked: Acknowledged[]): Promise<void> {
  const start = performance.now();
  const response = await agent.call('POST', '/v1/keys/set', { name, value, label: '' });
  log.push({ kind: 'write', start, end: performance.now(), status: response.status, type: response.json?.type });
  if (response.status === 200) acked.push({ name, value, wrappingKey: response.json.wrapping_key });
}

async function expectReadable(agent: TestAgent, acked: Acknowledged[]): Promise<void> {
  for (const { name, value, wrappingKey } of acked) {
    const read = await agent.call('POST', '/v1/keys/get', { name, wrapping_key: wrappingKey });
    expect(read.status, `${name}: ${read.text}`).toBe(200);
    expect(text(read.json)).toBe(value);
  }
}

/** Failures must be clean: 503 keyservice-unavailable, nothing else. */
function expectCleanFailures(log: Outcome[]): Outcome[] {
  const failed = log.filter((outcome) => outcome.status !== 200);
  expect(failed.filter((outcome) => outcome.status !== 503 || outcome.type !== 'keyservice-unavailable')).toEqual([]);
  return failed;
}

describe(`faults behind the agent (${TEST_BACKEND})`, () => {
  it('one of two key-service nodes killed under load: reads and writes go on through the other, nothing acknowledged is lost', async () => {
    const server = await keyServer({ nodes: 2 });
    // No cache (TTL 0, no stale window): every read is a key-service round trip, none is masked.
    const agent = await siteAgent(server, 'kill', { cache: { ttlMs: 0, staleMs: 0 } });
    const seeded: Acknowledged[] = [];
    for (let i = 0; i < 16; i++) await write(agent, `seed/${i}`, `seed value ${i}`, [], seeded);
    expect(seeded).toHaveLength(16);

    const log: Outcome[] = [];
    const acked: Acknowledged[] = [];
    const started = performance.now();
    let killed = { start: Infinity, end: Infinity };
    // About 2 s, and on until the surviving node has served a fair share (a loaded machine is slow), at most 20 s.
    const after = (kind: Outcome['kind']) =>
      log.filter((outcome) => outcome.kind === kind && outcome.start > killed.end && outcome.status === 200).length;
    const running = () => {
      const now = performance.now();
      return now < started + 2000 || (now < started + 20_000 && (after('read') < 20 || after('write') < 3));
    };
    const reader = async () => {
      for (let n = 0; running(); n++) {
        const { name, wrappingKey } = seeded[Math.floor(Math.random() * seeded.length)];
        const start = performance.now();
        const read = await agent.call('POST', '/v1/keys/get', { name, wrapping_key: wrappingKey });
        log.push({ kind: 'read', start, end: performance.now(), status: read.status, type: read.json?.type });
      }
    };
    const writer = async () => {
      for (let n = 0; running(); n++) await write(agent, `load/${n}`, `load value ${n} ${Math.random()}`, log, acked);
    };
    const killer = async () => {
      await sleep(700);
      const servedBefore = server.served[1];
      killed = { start: performance.now(), end: Infinity };
      await server.nodes[0].close();
      killed.end = performance.now();
      return servedBefore;
    };
    const [servedBefore] = await Promise.all([killer(), writer(), ...Array.from({ length: 8 }, reader)]);

    const failed = expectCleanFailures(log);
    // Only requests already running when the node went away may fail (at most one per worker).
    expect(failed.filter((outcome) => outcome.start > killed.end)).toEqual([]);
    expect(failed.length).toBeLessThanOrEqual(9);
    expect(after('read')).toBeGreaterThanOrEqual(20);
    expect(after('write')).toBeGreaterThanOrEqual(3);
    expect(server.served[1]).toBeGreaterThan(servedBefore);
    expect(agent.client.health()[0].backoffMs).toBeGreaterThan(0);
    console.log(
      `kill: ${log.length} requests, ${failed.length} failed, ${acked.length} writes acknowledged, kill took ${(killed.end - killed.start).toFixed(0)} ms`,
    );
    await expectReadable(agent, [...seeded, ...acked]);
  });

  it('HSM token removed: 503 root-key-unavailable from the key service, stale reads at the agent, writes refused, recovery without restart', async (ctx) => {
    ctx.skip(!MULTI_NODE_BACKEND, NEEDS_PG_HSM);
    const { hsm } = await workerBackend();
    const server = await keyServer();
    const agent = await siteAgent(server, 'hsm', { cache: { ttlMs: 200, staleMs: 60_000 } });
    const fresh = await siteAgent(server, 'hsm-fresh'); // registered, nothing stored: no vault yet
    const warm: Acknowledged[] = [];
    for (const i of [1, 2, 3]) await write(agent, `warm/${i}`, `warm value ${i}`, [], warm);
    await expectReadable(agent, warm); // the agent now caches their ciphertexts
    // Another host of the same site writes a value this agent has never seen.
    cpSync(join(work, 'hsm', 'certs'), join(work, 'hsm-twin', 'certs'), { recursive: true });
    const twin = await siteAgent(server, 'hsm-twin', {}, false);
    const cold: Acknowledged[] = [];
    await write(twin, 'cold', 'cold value', [], cold);
    expect(cold).toHaveLength(1);

    hsm.removeTokenDir();
    cleanup.push(async () => hsm.restoreTokenDir());
    // Node 2 has never opened this site's vault: its data key needs the token.
    const tls = agent.certificates.current()!.tls;
    const direct = tlsAgent(server.caCertPem, { keyPem: tls.keyPem, certPem: tls.certPem });
    try {
      const response = await rawRequest(server.urls[1], 'POST', '/ks/v1/site/secrets/list', { agent: direct, body: {} });
      expect(response.status, response.text).toBe(503);
      expect(response.json.type).toBe('root-key-unavailable');
      expect(response.headers['content-type']).toMatch(/problem\+json/);
    } finally {
      direct.destroy();
    }
    // A first write of a new site needs a new data key sealed by the token: refused on both nodes.
    const refused = await fresh.call('POST', '/v1/keys/set', { name: 'x', value: 'y' });
    expect(refused.status, refused.text).toBe(503);
    expect(refused.json.type).toBe('keyservice-unavailable');

    // Node 1, which holds this site's data key in memory, goes away during the outage.
    await server.nodes[0].close();
    await sleep(250); // past the TTL: cached entries are stale now
    for (const { name, value, wrappingKey } of warm) {
      const read = await agent.call('POST', '/v1/keys/get', { name, wrapping_key: wrappingKey });
      expect(read.status, read.text).toBe(200);
      expect(text(read.json)).toBe(value);
    }
    const uncached = await agent.call('POST', '/v1/keys/get', { name: 'cold', wrapping_key: cold[0].wrappingKey });
    expect([uncached.status, uncached.json.type]).toEqual([503, 'keyservice-unavailable']);
    const write503 = await agent.call('POST', '/v1/keys/set', { name: 'during', value: 'refused' });
    expect([write503.status, write503.json.type]).toEqual([503, 'keyservice-unavailable']);

    hsm.restoreTokenDir();
    // No restart: node 2 re-initialises the module on its next call.
    const deadline = Date.now() + 15_000;
    const later: Acknowledged[] = [];
    while (later.length === 0) {
      expect(Date.now(), 'writes did not recover within 15 s of the token coming back').toBeLessThan(deadline);
      await write(agent, 'after', 'after value', [], later);
      if (later.length === 0) await sleep(100);
    }
    await write(fresh, 'first', 'first value', [], later);
    expect(later).toHaveLength(2);
    await expectReadable(agent, [...warm, ...cold, later[0]]);
    await expectReadable(fresh, [later[1]]);
  });

  it('PostgreSQL restarted while an agent writes: clean 503s during the outage, nothing acknowledged lost, recovery without restart', async (ctx) => {
    ctx.skip(!MULTI_NODE_BACKEND, NEEDS_PG_HSM);
    const { postgres } = await workerBackend();
    const server = await keyServer();
    const agent = await siteAgent(server, 'pg', { cache: { ttlMs: 0, staleMs: 0 } });
    const log: Outcome[] = [];
    const acked: Acknowledged[] = [];
    let restart = { start: Infinity, end: Infinity };
    let stop = false;
    const writers = [0, 1].map(async (w) => {
      for (let n = 0; !stop; n++) {
        await write(agent, `pg/${w}/${n}`, `value ${w} ${n} ${Math.random()}`, log, acked);
        if (log.at(-1)!.status !== 200) await sleep(20);
      }
    });
    await sleep(400);
    restart = { start: performance.now(), end: Infinity };
    await postgres.restart();
    restart.end = performance.now();
    // Keep writing until writes succeed again (bounded), then a little longer.
    const deadline = performance.now() + 15_000;
    while (!log.some((outcome) => outcome.start > restart.end && outcome.status === 200)) {
      if (performance.now() > deadline) break;
      await sleep(50);
    }
    await sleep(300);
    stop = true;
    await Promise.all(writers);

    const recovered = log.find((outcome) => outcome.start > restart.end && outcome.status === 200);
    expect(recovered, 'writes did not recover within 15 s of PostgreSQL coming back').toBeDefined();
    const failed = expectCleanFailures(log);
    console.log(
      `pg restart: ${log.length} writes, ${failed.length} refused with 503, restart took ${(restart.end - restart.start).toFixed(0)} ms`,
    );
    expect(failed.length, 'no write saw the outage').toBeGreaterThan(0);
    // Failures belong to the outage: none started before it, none after the first recovered write.
    expect(failed.filter((outcome) => outcome.end < restart.start || outcome.start > recovered!.end)).toEqual([]);
    expect(
      log.some((outcome) => outcome.end < restart.start && outcome.status === 200),
      'no write before the restart',
    ).toBe(true);
    await expectReadable(agent, acked);
    // Over 100 writes: the listing comes in pages, and every page counts.
    const names = new Set((await keyPages(agent, 50)).flat().map((key) => key.name));
    expect(names.size).toBeGreaterThan(50);
    expect(acked.filter((each) => !names.has(each.name))).toEqual([]);
  });
});
