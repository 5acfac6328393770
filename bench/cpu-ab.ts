/**
 * CPU per cached read, A/B between checkouts, made to survive a busy shared machine:
 *
 *   npx tsx bench/cpu-ab.ts [ROUNDS] ROOT_A [ROOT_B ...]
 *
 * (ROOT: a checkout with node_modules; e.g. `git archive HEAD | tar -x -C /tmp/a` and a
 * node_modules symlink.) ONE process loads every root's embedded `up()` side by side (key
 * service + agent each, TCP loopback, its own temp home and module copies), stores 100 keys
 * in each, and a bare node:http server (the floor of bench/baseline-server.ts). Then, for
 * ROUNDS rounds, it drives each server in turn with 10,000 keys/get (rotating over the
 * keys) and 10,000 keys/fetch from 64 raw keep-alive sockets in the same process, then 2,000
 * keys/fetch on a new connection each (a page's cold read: with the proofs, the connection's
 * first request carries the client's proof and its answer is checked for the agent's), and
 * adds up the process CPU time each spent.
 *
 * Why: `npm run bench` measures throughput with the load generator in its own process,
 * which on a machine where other work takes the cores varies by 3× between runs, and so
 * does any number from separate runs. Here client and server share one thread (how
 * requests batch per event-loop turn does not depend on the scheduler), CPU time counts
 * only time on a core, and A and B alternate every few seconds, so a busy spell hits both.
 * `agent − floor` is the agent's own work per request (routing, token, JSON, names,
 * cache, crypto, promise machinery); the client's and node:http's share cancels out.
 * The access log is off (it lives in cli/, outside `up()`).
 *
 * Profile it:  node --cpu-prof --cpu-prof-dir=DIR --import tsx bench/cpu-ab.ts 3 ROOT
 * prints each measured window; `npx tsx bench/profile-summary.ts` summarises the file.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { authFor, proveConnection, type BenchAuth } from './agent-auth.ts';
import { getRequests, fetchRequests } from './scenarios.ts';
import { onAnswers } from './http-answers.ts';
import { setKeys, warmAndCheck } from './keyset.ts';
import type { Target } from './loadgen-protocol.ts';

const CONNECTIONS = 64;
const WARMUP = 1_000;
const MEASURED = 10_000;
/** Reads on a new connection each (a page's cold read), 16 at a time. */
const COLD_CONCURRENCY = 16;
const COLD_WARMUP = 300;
const COLD_MEASURED = 2_000;

interface Measured {
  /** Process CPU time in µs over the measured requests. */
  cpuUs: number;
  /** The window on the clock of `node --cpu-prof`, in µs. */
  startUs: number;
  endUs: number;
}

/**
 * Counts answers for a measurement: the CPU clock starts once `warmup` have come, and after
 * `total` the window goes to `finish`. Returns the count-one-answer function: true when it
 * was the last.
 */
function answerCounter(warmup: number, total: number, finish: (measured: Measured) => void): () => boolean {
  let done = 0;
  let started: NodeJS.CpuUsage | null = null;
  let startUs = 0;
  return () => {
    done++;
    if (done === warmup) {
      started = process.cpuUsage();
      startUs = Number(process.hrtime.bigint() / 1000n);
    }
    if (done !== total) return false;
    const used = process.cpuUsage(started ?? undefined);
    finish({ cpuUs: used.user + used.system, startUs, endUs: Number(process.hrtime.bigint() / 1000n) });
    return true;
  };
}

/** Process CPU time over `count` requests after `warmup`, 64 in flight. */
async function cpuPerRequest(
  target: Extract<Target, { kind: 'tcp' }>,
  requests: string[],
  auth: BenchAuth,
  warmup: number,
  count: number,
): Promise<Measured> {
  const payloads = requests.map((text) => Buffer.from(text));
  let sent = 0;
  const total = warmup + count;
  return new Promise((resolvePromise, reject) => {
    const answered = answerCounter(warmup, total, (measured) => {
      for (const each of sockets) each.destroy();
      resolvePromise(measured);
    });
    const sockets = Array.from({ length: CONNECTIONS }, () => {
      const socket = connect(target.port, target.host);
      socket.setNoDelay(true);
      const next = () => {
        if (sent >= total) return;
        socket.write(payloads[sent++ % payloads.length]);
      };
      const opening = proveConnection(socket, target, auth, payloads[0], next, reject);
      socket.on('error', reject);
      onAnswers(socket, (statusLine, head) => {
        if (opening(statusLine, head)) return;
        if (!statusLine.startsWith('HTTP/1.1 200')) reject(new Error(`answered ${statusLine}`));
        if (!answered()) next();
      });
      return socket;
    });
  });
}

/**
 * Process CPU time over `count` keys/fetch reads after `warmup`, each on a new connection
 * (connect, one request, close), `COLD_CONCURRENCY` at a time: a cold read's cost to both
 * ends. With the proofs that request is the connection's first: it carries the client's
 * proof and its answer is checked for the agent's, as a PHP client's cold read does.
 */
async function cpuPerNewConnection(
  target: Extract<Target, { kind: 'tcp' }>,
  request: string,
  auth: BenchAuth,
  warmup: number,
  count: number,
): Promise<Measured> {
  const payload = Buffer.from(request);
  let sent = 0;
  const total = warmup + count;
  return new Promise((resolvePromise, reject) => {
    const answered = answerCounter(warmup, total, resolvePromise);
    const one = () => {
      if (sent >= total) return;
      sent++;
      const socket = connect(target.port, target.host);
      socket.setNoDelay(true);
      socket.on('error', reject);
      // The proofs: the opening is the read itself; a bearer checkout or the floor: the read as it is.
      const opening = proveConnection(socket, target, auth, payload, () => auth.scheme !== 'proof' && socket.write(payload), reject);
      onAnswers(socket, (statusLine, head) => {
        opening(statusLine, head);
        if (!statusLine.startsWith('HTTP/1.1 200')) reject(new Error(`answered ${statusLine}`));
        socket.destroy();
        if (!answered()) one();
      });
    };
    for (let i = 0; i < COLD_CONCURRENCY; i++) one();
  });
}

const FLOOR_BODY = Buffer.from(
  JSON.stringify({ name: 'bench/token_000', value_base64: Buffer.alloc(40, 'x').toString('base64'), version: 1 }),
);
const FLOOR_HEADERS = { 'cache-control': 'no-store', 'content-type': 'application/json', 'content-length': String(FLOOR_BODY.length) };

interface Subject {
  name: string;
  auth: BenchAuth;
  get: { target: Extract<Target, { kind: 'tcp' }>; requests: string[] };
  fetch: { target: Extract<Target, { kind: 'tcp' }>; requests: string[] } | null;
  /** The request of the cold-read measurement (for the floor: the first agent's keys/fetch bytes). */
  cold: string;
  totals: { get: number; fetch: number; requests: number; cold: number; coldRequests: number };
  close(): Promise<void>;
}

async function startFloor(requests: string[], cold: string, auth: BenchAuth): Promise<Subject> {
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    request.on('data', () => undefined);
    request.on('end', () => {
      response.writeHead(200, FLOOR_HEADERS);
      response.end(FLOOR_BODY);
    });
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const target = { kind: 'tcp' as const, host: '127.0.0.1', port: (server.address() as AddressInfo).port };
  return {
    name: 'floor (bare node:http)',
    // The floor answers without a proof: it gets the agent's request bytes, and no opening.
    auth: { ...auth, scheme: 'none' },
    get: { target, requests },
    fetch: null,
    cold,
    totals: { get: 0, fetch: 0, requests: 0, cold: 0, coldRequests: 0 },
    close: async () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

async function startAgent(root: string): Promise<Subject> {
  const home = mkdtempSync(join(tmpdir(), 'kb-cpu-ab-'));
  const { up } = (await import(pathToFileURL(join(root, 'sidecar/src/roles/up.ts')).href)) as typeof import('../sidecar/src/roles/up.ts');
  const instance = await up({ home, listen: { kind: 'tcp', host: '127.0.0.1', port: 0 } });
  const auth = authFor(root, readFileSync(instance.tokenFile, 'utf8').trim());
  const url = new URL(instance.url);
  const target = { kind: 'tcp' as const, host: url.hostname, port: Number(url.port) };
  const keys = await setKeys(target, auth, 100);
  await warmAndCheck(target, auth, keys);
  return {
    name: root,
    auth,
    get: { target, requests: getRequests(target, auth, keys) },
    fetch: { target, requests: fetchRequests(target, auth, keys) },
    cold: fetchRequests(target, auth, keys)[0],
    totals: { get: 0, fetch: 0, requests: 0, cold: 0, coldRequests: 0 },
    close: async () => {
      await instance.close();
      rmSync(home, { recursive: true, force: true });
    },
  };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const rounds = /^\d+$/.test(args[0] ?? '') ? Number(args.shift()) : 5;
  const roots = args.map((root) => resolve(root));
  if (roots.length === 0) throw new Error('usage: npx tsx bench/cpu-ab.ts [ROUNDS] ROOT_A [ROOT_B ...]');
  const subjects: Subject[] = [];
  try {
    for (const root of roots) subjects.push(await startAgent(root));
    subjects.unshift(await startFloor(subjects[0].get.requests, subjects[0].cold, subjects[0].auth));
    for (let round = 1; round <= rounds; round++) {
      const line: string[] = [];
      for (const subject of subjects) {
        const get = await cpuPerRequest(subject.get.target, subject.get.requests, subject.auth, WARMUP, MEASURED);
        subject.totals.get += get.cpuUs;
        const fetch = subject.fetch
          ? await cpuPerRequest(subject.fetch.target, subject.fetch.requests, subject.auth, WARMUP, MEASURED)
          : null;
        subject.totals.fetch += fetch?.cpuUs ?? 0;
        subject.totals.requests += MEASURED;
        const cold = await cpuPerNewConnection(subject.get.target, subject.cold, subject.auth, COLD_WARMUP, COLD_MEASURED);
        subject.totals.cold += cold.cpuUs;
        subject.totals.coldRequests += COLD_MEASURED;
        line.push(
          `${subject.name}: get ${(get.cpuUs / MEASURED).toFixed(1)}${fetch ? ` fetch ${(fetch.cpuUs / MEASURED).toFixed(1)}` : ''} cold ${(cold.cpuUs / COLD_MEASURED).toFixed(1)} [${get.startUs}-${cold.endUs}]`,
        );
      }
      console.log(`round ${round}: ${line.join(' | ')}`);
    }
  } finally {
    for (const subject of subjects) await subject.close().catch(() => undefined);
  }
  const floor = subjects[0].totals.get / subjects[0].totals.requests;
  const coldFloor = subjects[0].totals.cold / subjects[0].totals.coldRequests;
  console.log(
    `\nµs of CPU per request over ${rounds} rounds × ${MEASURED} requests (cold: ${COLD_MEASURED}, a new connection each; client + server in one process):`,
  );
  console.log(`  floor (bare node:http): ${floor.toFixed(1)}, cold ${coldFloor.toFixed(1)}`);
  for (const subject of subjects.slice(1)) {
    const get = subject.totals.get / subject.totals.requests;
    const fetch = subject.totals.fetch / subject.totals.requests;
    const cold = subject.totals.cold / subject.totals.coldRequests;
    console.log(
      `  ${subject.name}: get ${get.toFixed(1)} (agent's own +${(get - floor).toFixed(1)}), fetch ${fetch.toFixed(1)} (+${(fetch - floor).toFixed(1)}), cold fetch ${cold.toFixed(1)} (+${(cold - coldFloor).toFixed(1)})`,
    );
  }
  process.exit(0);
}

main().catch((error: Error) => {
  console.error(error.stack ?? error.message);
  process.exit(1);
});
