/**
 * CPU per cached read, A/B between checkouts, made to survive a busy shared machine:
 *
 *   npx tsx bench/cpu-ab.ts [ROUNDS] ROOT_A [ROOT_B ...]
 *
 * (ROOT: a checkout with node_modules; e.g. `git archive HEAD | tar -x -C /tmp/a` and a
 * node_modules symlink.) Each round runs every root in a fresh child process, in turn.
 * A child starts that root's embedded `up()` in-process (key service + agent, TCP
 * loopback), stores 100 keys, and drives keys/get (rotating) and keys/fetch from 64
 * raw keep-alive sockets in the SAME process, then does the same against a bare node:http
 * server (the floor of bench/baseline-server.ts). It reports process CPU time per request.
 *
 * Why: `npm run bench` measures throughput with the load generator in its own process,
 * which on a machine where other work takes the cores varies by 3× between runs. Here
 * client and server share one thread, so how requests batch per event-loop turn does not
 * depend on the scheduler, and CPU time counts only time on a core. `agent − floor` is
 * the agent's own work per request (routing, token, JSON, names, cache, crypto, promise
 * machinery); the client's and node:http's share cancels out. The access log is off.
 *
 * Profile one child:  node --cpu-prof --cpu-prof-dir=DIR --import tsx bench/cpu-ab.ts --child ROOT
 * prints its result with `windows`; `npx tsx bench/cpu-ab.ts --summary DIR/FILE.cpuprofile
 * '<result JSON>' get` summarises that window only.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { getRequests, fetchRequests } from './scenarios.ts';
import { setKeys, warmAndCheck } from './keyset.ts';
import type { Target } from './loadgen-protocol.ts';
import { summariseProfileFile, type Window } from './profile-summary.ts';

const CONNECTIONS = 64;
const WARMUP = 5_000;
const MEASURED = 30_000;

interface ChildResult {
  root: string;
  floor: number;
  get: number;
  fetch: number;
  /** The measured windows on the clock of `node --cpu-prof` (for profile-summary.ts). */
  windows: Record<'floor' | 'get' | 'fetch', Window>;
}

interface Measured {
  usPerRequest: number;
  window: Window;
}

/** µs of process CPU per request, for `count` requests after `warmup`, 64 in flight. */
async function cpuPerRequest(target: Extract<Target, { kind: 'tcp' }>, requests: string[], warmup: number, count: number): Promise<Measured> {
  const payloads = requests.map((text) => Buffer.from(text));
  let sent = 0;
  let done = 0;
  let started: NodeJS.CpuUsage | null = null;
  let startUs = 0;
  const total = warmup + count;
  return new Promise((resolvePromise, reject) => {
    const sockets = Array.from({ length: CONNECTIONS }, () => {
      const socket = connect(target.port, target.host);
      socket.setNoDelay(true);
      let buffer: Buffer = Buffer.alloc(0);
      const next = () => {
        if (sent >= total) return;
        socket.write(payloads[sent++ % payloads.length]);
      };
      socket.on('connect', next);
      socket.on('error', reject);
      socket.on('data', (chunk: Buffer) => {
        buffer = buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk]);
        for (;;) {
          const end = buffer.indexOf('\r\n\r\n');
          if (end < 0) return;
          const head = buffer.subarray(0, end).toString('latin1');
          const length = Number(/content-length: *(\d+)/i.exec(head)?.[1] ?? 0);
          if (buffer.length < end + 4 + length) return;
          if (!head.startsWith('HTTP/1.1 200')) reject(new Error(`answered ${head.split('\r\n')[0]}`));
          buffer = buffer.subarray(end + 4 + length);
          done++;
          if (done === warmup) {
            started = process.cpuUsage();
            startUs = Number(process.hrtime.bigint() / 1000n);
          }
          if (done === total) {
            const used = process.cpuUsage(started ?? undefined);
            for (const each of sockets) each.destroy();
            resolvePromise({ usPerRequest: (used.user + used.system) / count, window: { startUs, endUs: Number(process.hrtime.bigint() / 1000n) } });
            return;
          }
          next();
        }
      });
      return socket;
    });
  });
}

async function child(root: string): Promise<ChildResult> {
  const home = mkdtempSync(join(tmpdir(), 'kb-cpu-ab-'));
  const floorServer = createServer((request: IncomingMessage, response: ServerResponse) => {
    request.on('data', () => undefined);
    request.on('end', () => {
      response.writeHead(200, FLOOR_HEADERS);
      response.end(FLOOR_BODY);
    });
  });
  floorServer.keepAliveTimeout = 65_000;
  await new Promise<void>((ok) => floorServer.listen(0, '127.0.0.1', ok));
  const { up } = (await import(pathToFileURL(join(root, 'sidecar/src/up.ts')).href)) as typeof import('../sidecar/src/up.ts');
  const instance = await up({ home, listen: { kind: 'tcp', host: '127.0.0.1', port: 0 } });
  try {
    const token = readFileSync(instance.tokenFile, 'utf8').trim();
    const url = new URL(instance.url);
    const target = { kind: 'tcp' as const, host: url.hostname, port: Number(url.port) };
    const keys = await setKeys(target, token, 100);
    await warmAndCheck(target, token, keys);
    const floorTarget = { kind: 'tcp' as const, host: '127.0.0.1', port: (floorServer.address() as AddressInfo).port };
    const floor = await cpuPerRequest(floorTarget, getRequests(target, token, keys), WARMUP, MEASURED);
    const get = await cpuPerRequest(target, getRequests(target, token, keys), WARMUP, MEASURED);
    const fetch = await cpuPerRequest(target, fetchRequests(target, token, keys), WARMUP, MEASURED);
    return {
      root,
      floor: floor.usPerRequest,
      get: get.usPerRequest,
      fetch: fetch.usPerRequest,
      windows: { floor: floor.window, get: get.window, fetch: fetch.window },
    };
  } finally {
    await instance.close();
    floorServer.close();
    rmSync(home, { recursive: true, force: true });
  }
}

const FLOOR_BODY = Buffer.from(JSON.stringify({ name: 'bench/token_000', value_base64: Buffer.alloc(40, 'x').toString('base64'), version: 1 }));
const FLOOR_HEADERS = { 'cache-control': 'no-store', 'content-type': 'application/json', 'content-length': String(FLOOR_BODY.length) };

function runChild(root: string): Promise<ChildResult> {
  return new Promise((ok, fail) => {
    const proc = spawn(process.execPath, ['--import', 'tsx', new URL(import.meta.url).pathname, '--child', root], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    proc.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    proc.on('exit', (code) => {
      const line = out.trim().split('\n').at(-1) ?? '';
      if (code === 0 && line.startsWith('{')) ok(JSON.parse(line) as ChildResult);
      else fail(new Error(`child for ${root} exited ${code}: ${out}`));
    });
  });
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args[0] === '--summary') {
    const result = JSON.parse(args[2]) as ChildResult;
    const op = (args[3] ?? 'get') as keyof ChildResult['windows'];
    console.log(summariseProfileFile(args[1], [result.windows[op]], MEASURED));
    return;
  }
  if (args[0] === '--child') {
    console.log(JSON.stringify(await child(resolve(args[1]))));
    process.exit(0);
  }
  const rounds = /^\d+$/.test(args[0] ?? '') ? Number(args.shift()) : 3;
  const roots = args.map((root) => resolve(root));
  if (roots.length === 0) throw new Error('usage: npx tsx bench/cpu-ab.ts [ROUNDS] ROOT_A [ROOT_B ...]');
  const results = new Map<string, ChildResult[]>(roots.map((root) => [root, []]));
  for (let round = 1; round <= rounds; round++) {
    for (const root of roots) {
      const result = await runChild(root);
      results.get(root)?.push(result);
      const f = (n: number) => n.toFixed(1).padStart(6);
      console.log(`round ${round} ${root}: floor ${f(result.floor)}  get ${f(result.get)}  fetch ${f(result.fetch)}  µs CPU/req`);
    }
  }
  console.log(`\nmedians over ${rounds} rounds (µs of CPU per request, client + server in one process; agent − floor = the agent's own work):`);
  for (const [root, list] of results) {
    const floor = median(list.map((r) => r.floor));
    const get = median(list.map((r) => r.get));
    const fetch = median(list.map((r) => r.fetch));
    console.log(`  ${root}: floor ${floor.toFixed(1)}, get ${get.toFixed(1)} (+${(get - floor).toFixed(1)}), fetch ${fetch.toFixed(1)} (+${(fetch - floor).toFixed(1)})`);
  }
}

main().catch((error: Error) => {
  console.error(error.stack ?? error.message);
  process.exit(1);
});
