/**
 * The load generator: runs in its OWN child process (started by bench/run.ts through
 * bench/loadgen-runner.ts), never in the process under test.
 *
 * Built to be cheap, so it is not the bottleneck:
 *  - raw `net` sockets with HTTP/1.1 keep-alive, `concurrency` connections, one outstanding
 *    request per connection (closed loop, as PHP-FPM workers would be);
 *  - request bytes serialised once, before the clock starts;
 *  - minimal response parsing: status line and Content-Length, nothing else;
 *  - latency from `process.hrtime.bigint()` into a preallocated histogram.
 *
 * Bounded: warm-up, then a fixed measured window, a hard cap on requests and a watchdog; it
 * talks to loopback addresses and unix sockets only, and exits by itself.
 *
 * Protocol (IPC): the parent sends one LoadgenConfig; the child answers `ready` once every
 * connection is open, `measure-start` / `measure-end` around the measured window (so the
 * parent can sample the server's CPU and memory), then `result`, and exits.
 */
import net from 'node:net';
import { headProves, openingRequest } from './agent-auth.ts';
import { LatencyHistogram } from './histogram.ts';
import type { LoadgenConfig, LoadgenMessage, LoadgenResult, Target } from './loadgen-protocol.ts';

const HEADER_END = Buffer.from('\r\n\r\n', 'latin1');
const CONTENT_LENGTH = /\r\ncontent-length:[ \t]*(\d+)/i;
const CHUNKED = /\r\ntransfer-encoding:[ \t]*chunked/i;
const CRLF = Buffer.from('\r\n', 'latin1');
const MAX_HEAD_BYTES = 16 * 1024;
const MAX_TRANSPORT_ERRORS = 200;
const DRAIN_GRACE_MS = 2_000;
const WATCHDOG_EXTRA_MS = 10_000;

interface Connection {
  id: number;
  socket: net.Socket;
  pending: Buffer | null;
  /** Bytes of the whole response once its head is parsed, else -1. */
  expected: number;
  /** The response is chunked: `expected` is unknown until the last chunk arrives. */
  chunked: boolean;
  status: number;
  headEnd: number;
  sentAt: bigint;
  busy: boolean;
  /** Set when we destroyed it for a protocol error (already counted). */
  broken: boolean;
  /** While its first request (with the client's proof) is out: called with the agent's proof check, then cleared. */
  opening: ((proven: boolean) => void) | null;
  /** The agent's proof the opening answer must carry. */
  expectedProof: string;
}

/**
 * Where a chunked body that starts at `from` ends (the offset after its last CRLF), -1 if
 * not all of it has arrived, -2 if it is malformed. Trailers are not expected.
 */
function chunkedEnd(buf: Buffer, from: number): number {
  let at = from;
  for (;;) {
    const lineEnd = buf.indexOf(CRLF, at);
    if (lineEnd < 0) return -1;
    const size = parseInt(buf.toString('latin1', at, lineEnd), 16);
    if (!Number.isInteger(size) || size < 0) return -2;
    if (size === 0) return buf.length >= lineEnd + 4 ? lineEnd + 4 : -1;
    at = lineEnd + 2 + size + 2;
    if (at > buf.length) return -1;
  }
}

function send(message: LoadgenMessage, then?: () => void): void {
  if (process.send) process.send(message, undefined, undefined, () => then?.());
  else then?.();
}

export function checkLoopback(target: Target): void {
  if (target.kind === 'unix') {
    if (!target.path.startsWith('/')) throw new Error('unix socket path must be absolute');
    return;
  }
  const host = target.host;
  const loopback = host === 'localhost' || host === '::1' || (net.isIPv4(host) && host.startsWith('127.'));
  if (!loopback) throw new Error(`the load generator only targets loopback addresses, not ${host}`);
}

function run(config: LoadgenConfig): void {
  checkLoopback(config.target);
  if (!(config.concurrency >= 1 && config.concurrency <= 1024)) throw new Error('concurrency must be 1..1024');
  const requests = config.requests.map((text) => Buffer.from(text, 'utf8'));
  if (requests.length === 0) throw new Error('no requests to send');

  const histogram = new LatencyHistogram();
  const timeline = new Uint32Array(Math.ceil(config.measureMs / 100) + 1);
  const connections: Connection[] = [];
  const byStatus: Record<string, number> = {};
  let transportErrors = 0;
  let firstProblem: string | undefined;
  let phase: 'connecting' | 'warmup' | 'measure' | 'drain' | 'done' = 'connecting';
  let nextRequest = 0;
  let sent = 0;
  let completed = 0;
  let capped = false;
  let stalled = false;
  let responseBytes = 0;
  let windowStart = 0n;
  let windowEnd = 0n;
  let cpuStart = process.cpuUsage();
  let cpuUsedUs = 0;
  let warmupTimer: NodeJS.Timeout | undefined;
  let measureTimer: NodeJS.Timeout | undefined;

  const watchdog = setTimeout(
    () => {
      stalled = true;
      problem('watchdog: the run did not finish in time');
      finish();
    },
    config.warmupMs + config.measureMs + WATCHDOG_EXTRA_MS,
  );

  function problem(text: string): void {
    if (firstProblem === undefined) firstProblem = text;
  }

  function startMeasure(): void {
    if (phase !== 'warmup') return;
    clearTimeout(warmupTimer);
    histogram.reset();
    timeline.fill(0);
    completed = 0;
    phase = 'measure';
    send({ type: 'measure-start' });
    cpuStart = process.cpuUsage();
    windowStart = process.hrtime.bigint();
    measureTimer = setTimeout(endMeasure, config.measureMs);
  }

  function endMeasure(): void {
    if (phase !== 'measure') return;
    windowEnd = process.hrtime.bigint();
    const cpu = process.cpuUsage(cpuStart);
    cpuUsedUs = cpu.user + cpu.system;
    clearTimeout(measureTimer);
    phase = 'drain';
    send({ type: 'measure-end' });
    setTimeout(finish, DRAIN_GRACE_MS);
    maybeDrained();
  }

  function maybeDrained(): void {
    if (phase === 'drain' && connections.every((conn) => !conn.busy)) finish();
  }

  function issue(conn: Connection): void {
    if (phase !== 'warmup' && phase !== 'measure') {
      conn.busy = false;
      maybeDrained();
      return;
    }
    if (sent >= config.maxRequests) {
      conn.busy = false;
      capped = true;
      if (phase === 'warmup') startMeasure();
      endMeasure();
      return;
    }
    const request = requests[nextRequest];
    nextRequest = nextRequest + 1 === requests.length ? 0 : nextRequest + 1;
    sent++;
    conn.busy = true;
    conn.sentAt = process.hrtime.bigint();
    conn.socket.write(request);
  }

  function onData(conn: Connection, chunk: Buffer): void {
    const buf = conn.pending === null ? chunk : Buffer.concat([conn.pending, chunk]);
    if (conn.expected < 0) {
      const headEnd = buf.indexOf(HEADER_END);
      if (headEnd < 0) {
        if (buf.length > MAX_HEAD_BYTES) return broken(conn, 'response head too large');
        conn.pending = buf;
        return;
      }
      const head = buf.toString('latin1', 0, headEnd);
      const status = head.startsWith('HTTP/1.') ? Number(head.slice(9, 12)) : NaN;
      const length = CONTENT_LENGTH.exec(head);
      conn.chunked = !length && CHUNKED.test(head);
      if (!Number.isInteger(status) || (!length && !conn.chunked)) return broken(conn, `unparseable response head: ${head.slice(0, 200)}`);
      conn.status = status;
      conn.headEnd = headEnd;
      conn.expected = conn.chunked ? Number.MAX_SAFE_INTEGER : headEnd + 4 + Number(length![1]);
    }
    if (conn.chunked) {
      const end = chunkedEnd(buf, conn.headEnd + 4);
      if (end === -2) return broken(conn, 'malformed chunked body');
      if (end >= 0) conn.expected = end;
    }
    if (buf.length < conn.expected) {
      conn.pending = buf;
      return;
    }
    const now = process.hrtime.bigint();
    const latencyNs = Number(now - conn.sentAt);
    if (buf.length > conn.expected) return broken(conn, 'more bytes than Content-Length (unexpected pipelining)');
    const status = conn.status;
    if (conn.opening !== null) {
      // The connection's first answer: proven (200 with the agent's proof) or the run cannot start.
      const opened = conn.opening;
      conn.opening = null;
      conn.pending = null;
      conn.expected = -1;
      opened(status === 200 && headProves(buf.toString('latin1', 0, conn.headEnd), conn.expectedProof));
      return;
    }
    responseBytes = conn.expected;
    if (status !== config.expectStatus) {
      byStatus[status] = (byStatus[status] ?? 0) + 1;
      problem(`HTTP ${status}: ${buf.toString('utf8', conn.headEnd + 4, Math.min(conn.expected, conn.headEnd + 4 + 300))}`);
    }
    conn.pending = null;
    conn.expected = -1;
    conn.chunked = false;
    if (phase === 'measure') {
      histogram.record(latencyNs);
      completed++;
      const slice = Math.floor(Number(now - windowStart) / 100e6);
      if (slice < timeline.length) timeline[slice]++;
    }
    issue(conn);
  }

  function broken(conn: Connection, why: string): void {
    transportErrors++;
    conn.broken = true;
    problem(why);
    conn.socket.destroy();
  }

  function open(id: number): Promise<Connection> {
    return new Promise((resolve, reject) => {
      const target = config.target;
      const socket = target.kind === 'tcp' ? net.connect({ host: target.host, port: target.port }) : net.connect({ path: target.path });
      const conn: Connection = {
        id,
        socket,
        pending: null,
        expected: -1,
        status: 0,
        headEnd: 0,
        sentAt: 0n,
        busy: false,
        broken: false,
        chunked: false,
        opening: null,
        expectedProof: '',
      };
      connections[id] = conn;
      socket.once('connect', () => {
        if (target.kind === 'tcp') socket.setNoDelay(true);
        if (config.token === undefined) return resolve(conn);
        // Not measured: the first request proves the connection, as a PHP client's does.
        const opening = openingRequest(requests[0], socket, target, config.token);
        conn.expectedProof = opening.expectedProof;
        conn.opening = (proven) => (proven ? resolve(conn) : reject(new Error('the agent did not prove it holds the token')));
        socket.write(opening.bytes);
      });
      socket.on('data', (chunk: Buffer) => onData(conn, chunk));
      socket.on('error', (error) => {
        problem(`socket error: ${error.message}`);
        if (phase === 'connecting') reject(error);
      });
      socket.on('close', () => {
        if (phase === 'connecting' || phase === 'done') return;
        if (phase === 'drain') {
          conn.busy = false;
          maybeDrained();
          return;
        }
        // The server closed a keep-alive connection under load: an error, then reconnect.
        if (!conn.broken) {
          transportErrors++;
          problem('the server closed a connection');
        }
        conn.busy = false;
        if (transportErrors > MAX_TRANSPORT_ERRORS) {
          stalled = true;
          finish();
          return;
        }
        open(id).then(
          (fresh) => issue(fresh),
          () => undefined,
        );
      });
    });
  }

  function finish(): void {
    if (phase === 'done') return;
    if (phase === 'measure') endMeasure();
    if (windowEnd === 0n) windowEnd = process.hrtime.bigint();
    if (windowStart === 0n) windowStart = windowEnd;
    phase = 'done';
    clearTimeout(watchdog);
    clearTimeout(warmupTimer);
    clearTimeout(measureTimer);
    for (const conn of connections) conn?.socket.destroy();
    const windowNs = Number(windowEnd - windowStart);
    const fullSlices = Math.floor(windowNs / 100e6);
    let slowestSecondRps: number | null = null;
    for (let start = 0; start + 10 <= fullSlices; start++) {
      let sum = 0;
      for (let i = start; i < start + 10; i++) sum += timeline[i];
      if (slowestSecondRps === null || sum < slowestSecondRps) slowestSecondRps = sum;
    }
    const result: LoadgenResult = {
      completed,
      sent,
      windowMs: windowNs / 1e6,
      requestsPerSecond: windowNs > 0 ? completed / (windowNs / 1e9) : 0,
      latency: histogram.summary(),
      errors: { byStatus, transport: transportErrors, firstProblem },
      capped,
      stalled,
      loadgenCpuShare: windowNs > 0 ? cpuUsedUs / (windowNs / 1e3) : 0,
      timeline100ms: Array.from(timeline.subarray(0, Math.ceil(windowNs / 100e6))),
      slowestSecondRps,
      responseBytes,
    };
    send({ type: 'result', result }, () => process.exit(0));
  }

  Promise.all(Array.from({ length: config.concurrency }, (_, id) => open(id))).then(
    () => {
      send({ type: 'ready' });
      phase = 'warmup';
      warmupTimer = setTimeout(startMeasure, config.warmupMs);
      for (const conn of connections) issue(conn);
    },
    (error: Error) => fatal(`could not connect: ${error.message}`),
  );
}

function fatal(message: string): void {
  send({ type: 'fatal', message }, () => process.exit(1));
  setTimeout(() => process.exit(1), 1_000).unref();
}

// Only the parent's config starts a run; an orphaned child (parent gone) exits.
process.once('message', (config: LoadgenConfig) => {
  try {
    run(config);
  } catch (error) {
    fatal(error instanceof Error ? error.message : String(error));
  }
});
process.on('disconnect', () => process.exit(2));
if (!process.send) {
  console.error('bench/loadgen.ts is started by bench/run.ts (it needs an IPC channel)');
  process.exit(2);
}
