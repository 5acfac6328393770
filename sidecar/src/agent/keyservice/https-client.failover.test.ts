import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestAgent, startTestKeyServer, type TestAgent, type TestKeyServer } from '../../../test-helpers/keyservice.ts';
import { startTcpSwitch, type TcpSwitch } from '../../../test-helpers/tcp-switch.ts';
import { KeybridgeError } from '../../errors.ts';
import { HttpsKeyServiceClient } from './https-client.ts';

/**
 * The client's failover between key-service URLs, against two real nodes over mutual TLS
 * (sqlite-software: two listeners and KeyServices over one SQLite handle in this process, as
 * SQLite is the single-node store; postgres-softhsm: two nodes with their own pools on one
 * database). Nodes are failed with TCP switches in front of them (connections reset at once)
 * and a black hole (accepts, never answers: costs the client its timeout), on a fake clock for
 * the backoff periods.
 */
const work = mkdtempSync(join(tmpdir(), 'kb-failover-client-'));
let server: TestKeyServer;
let registered: TestAgent;
const switches: TcpSwitch[] = [];
/** The black hole costs this much per attempt; real requests on a loaded 2-core machine stay well under it. */
const TIMEOUT_MS = 1000;

beforeAll(async () => {
  server = await startTestKeyServer({ nodes: 2 });
  registered = await startTestAgent(server, { certDir: join(work, 'certs') });
  const response = await registered.call('POST', '/v1/register', {
    email: 'failover@example.com',
    password: 'a long enough password',
    site_name: 'Failover',
  });
  expect(response.status, response.text).toBe(200);
});

afterAll(async () => {
  for (const each of switches) await each.close();
  await registered?.stop();
  await server?.stop();
  rmSync(work, { recursive: true, force: true });
});

async function tcpSwitch(target: string | null): Promise<TcpSwitch> {
  const made = await startTcpSwitch(target);
  switches.push(made);
  return made;
}

/** A client of the registered site over `urls`, on a clock the test moves. */
function client(urls: string[], timeoutMs = TIMEOUT_MS) {
  const clock = { now: 1_000_000 };
  const made = new HttpsKeyServiceClient({
    urls,
    tls: () => registered.certificates.current()?.tls ?? null,
    caCertPem: () => server.caCertPem,
    timeoutMs,
    now: () => clock.now,
  });
  const backoff = () => made.health().map((url) => url.backoffMs);
  return { client: made, clock, backoff, preferred: () => made.health().findIndex((url) => url.preferred) };
}

async function timed<T>(run: () => Promise<T>): Promise<{ ms: number; result: T }> {
  const started = performance.now();
  const result = await run();
  return { ms: performance.now() - started, result };
}

describe('failover between key-service URLs', () => {
  it('runs on two real nodes issued by one CA', () => {
    expect(server.urls).toHaveLength(2);
    expect(new Set(server.urls).size).toBe(2);
    expect(server.nodes.map((node) => node.caCertPem)).toEqual([server.caCertPem, server.caCertPem]);
  });

  it('stays on the URL that answered (sticky) and skips a failed one for its backoff period', async () => {
    const [a, b] = [await tcpSwitch(server.urls[0]), await tcpSwitch(server.urls[1])];
    const hole = await tcpSwitch(null);
    const { client: c, clock, backoff, preferred } = client([a.url, hole.url, b.url]);
    try {
      await c.list();
      expect(preferred()).toBe(0);

      // A fails: the walk goes on through the black hole (one timeout) to B, which then stays preferred.
      a.setDown(true);
      expect((await timed(() => c.list())).ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 20);
      expect(hole.accepted).toBe(1);
      expect(backoff()).toEqual([1000, 1000, 0]);
      expect(preferred()).toBe(2);
      const before = [...server.served];
      for (let i = 0; i < 3; i++) await c.list();
      expect(server.served[1] - before[1]).toBe(3);
      expect(server.served[0]).toBe(before[0]);

      // B fails while A and the hole are backed off: every URL is down, so the backed-off ones
      // are tried at once (recovery is prompt) and A, back up, answers and resets its backoff.
      a.setDown(false);
      b.setDown(true);
      await c.list();
      expect(preferred()).toBe(0);
      expect(backoff()).toEqual([0, 1000, 1000]);
      expect(hole.accepted).toBe(1);

      // Past the hole's first period, A fails again: the hole is tried (second timeout: its
      // backoff doubles), and B, whose period is over, answers.
      clock.now += 2000;
      a.setDown(true);
      b.setDown(false);
      await c.list();
      expect(hole.accepted).toBe(2);
      expect(backoff()).toEqual([1000, 2000, 0]);
      b.setDown(true);
      a.setDown(false);
      await c.list(); // B fails, A (backed off, all down) answers
      expect(preferred()).toBe(0);

      // 1.5 s later A fails once more: the hole is still inside its 2 s period and is skipped,
      // B's 1 s period is over: the call reaches B without paying the hole's timeout.
      clock.now += 1500;
      a.setDown(true);
      b.setDown(false);
      const skipped = await timed(() => c.list());
      expect(hole.accepted).toBe(2);
      expect(skipped.ms).toBeLessThan(TIMEOUT_MS);
      expect(preferred()).toBe(2);
      expect(backoff()).toEqual([1000, 2000, 0]);
    } finally {
      c.close();
    }
  });

  it('doubles a backoff up to its cap, and counts concurrent failures of one outage once', async () => {
    const [a, b] = [await tcpSwitch(server.urls[0]), await tcpSwitch(server.urls[1])];
    const { client: c, clock, backoff } = client([a.url, b.url], 10_000);
    try {
      await c.list();
      a.setDown(true);
      const results = await Promise.all(Array.from({ length: 8 }, () => c.list()));
      expect(results).toHaveLength(8);
      expect(backoff()).toEqual([1000, 0]);
      expect(c.health()[0].failures).toBeGreaterThanOrEqual(1);

      // Both down: every call fails with keyservice-unavailable, each failure doubles, up to 30 s.
      b.setDown(true);
      const seen: number[] = [];
      for (let i = 0; i < 7; i++) {
        clock.now += 60_000;
        await expect(c.list()).rejects.toMatchObject({ type: 'keyservice-unavailable' });
        seen.push(backoff()[0]);
      }
      expect(seen).toEqual([2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000]);
      // Still inside A's 30 s period and B's: a call tries both anyway, and B, back, answers.
      b.setDown(false);
      clock.now += 1000;
      await c.list();
      expect(backoff()[1]).toBe(0);
    } finally {
      c.close();
    }
  });

  it('does not fail over on an answer that is not an outage (a refused request)', async () => {
    const [a, b] = [await tcpSwitch(server.urls[0]), await tcpSwitch(server.urls[1])];
    const { client: c, backoff } = client([a.url, b.url], 10_000);
    try {
      const failure = await c.get(['not an opaque key id']).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(KeybridgeError);
      expect((failure as KeybridgeError).status).toBe(422);
      expect(a.accepted).toBe(1);
      expect(b.accepted).toBe(0);
      expect(backoff()).toEqual([0, 0]);
    } finally {
      c.close();
    }
  });
});
