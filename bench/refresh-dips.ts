/**
 * Does the agent's throughput dip when its cache entries come due? One checkout's embedded
 * `up()` in-process with a short cache TTL, 100 keys stored together, keys/get rotating
 * over them from 64 keep-alive sockets in the same process for 3.2 TTLs; prints requests
 * completed and the slowest answer (ms) per 250 ms slice:
 *
 *   npx tsx bench/refresh-dips.ts [ROOT=.] [TTL_MS=6000]
 *
 * Before refresh ahead (agent/record-reader.ts) every TTL showed a ~1 s dip to a fifth of
 * the throughput with answers up to ~0.8 s; with it there is none (bench/README.md).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { setKeys, warmAndCheck } from './keyset.ts';
import { authFor, proveConnection } from './agent-auth.ts';
import { getRequests } from './scenarios.ts';
import { onAnswers } from './http-answers.ts';

const CONNECTIONS = 64;
const SLICE_MS = 250;

async function main(): Promise<void> {
  const root = resolve(process.argv[2] ?? '.');
  const ttlMs = Number(process.argv[3] ?? 6000);
  const home = mkdtempSync(join(tmpdir(), 'kb-dips-'));
  const { up } = (await import(pathToFileURL(join(root, 'sidecar/src/roles/up.ts')).href)) as typeof import('../sidecar/src/roles/up.ts');
  const instance = await up({ home, listen: { kind: 'tcp', host: '127.0.0.1', port: 0 }, cache: { ttlMs, staleMs: 60_000 } });
  try {
    const auth = authFor(root, readFileSync(instance.tokenFile, 'utf8').trim());
    const url = new URL(instance.url);
    const target = { kind: 'tcp' as const, host: url.hostname, port: Number(url.port) };
    const keys = await setKeys(target, auth, 100);
    await warmAndCheck(target, auth, keys);
    const payloads = getRequests(target, auth, keys).map((text) => Buffer.from(text));

    let sent = 0;
    let done = 0;
    let slowestMs = 0;
    const counts: number[] = [];
    const slowest: number[] = [];
    const slicer = setInterval(() => {
      counts.push(done);
      slowest.push(Math.round(slowestMs));
      done = 0;
      slowestMs = 0;
    }, SLICE_MS);
    const sockets = Array.from({ length: CONNECTIONS }, () => {
      const socket = connect(target.port, target.host);
      let sentAt = 0;
      const next = () => {
        sentAt = performance.now();
        socket.write(payloads[sent++ % payloads.length]);
      };
      const opening = proveConnection(socket, target, auth, payloads[0], next, (error) => {
        throw error;
      });
      onAnswers(socket, (statusLine, head) => {
        if (opening(statusLine, head)) return;
        if (!statusLine.startsWith('HTTP/1.1 200')) throw new Error(`answered ${statusLine}`);
        done++;
        slowestMs = Math.max(slowestMs, performance.now() - sentAt);
        next();
      });
      return socket;
    });
    await new Promise((ok) => setTimeout(ok, ttlMs * 3.2));
    clearInterval(slicer);
    for (const socket of sockets) socket.destroy();
    console.log(`${root}, TTL ${ttlMs} ms: requests per ${SLICE_MS} ms`);
    console.log(counts.join(' '));
    console.log(`slowest answer (ms) per ${SLICE_MS} ms`);
    console.log(slowest.join(' '));
  } finally {
    await instance.close();
    rmSync(home, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (error: Error) => {
    console.error(error.stack ?? error.message);
    process.exit(1);
  },
);
