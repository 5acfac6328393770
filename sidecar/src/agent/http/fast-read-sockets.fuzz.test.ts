import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbedded, type EmbeddedAgent } from '../../../test-helpers/embedded.ts';
import { LIMITS } from '../../protocol/local-api.ts';
import { signOn } from '../../../test-helpers/raw-http.ts';
import { parseReadRequest } from './strict-request.ts';

/**
 * Differential fuzz of the socket fast path's gate (strict-request.ts) against node:http's
 * own parser. Each variant is a good read with one random change to its head (a character
 * inserted, dropped or replaced, a header name's case flipped, spaces around a value, a
 * header added, repeated or moved, the Content-Length written with zeros or one byte off).
 * Whatever the gate refuses goes to node:http untouched (fast-read-sockets.test.ts checks
 * that hand-over). Whatever it accepts is sent, followed by a good read on the same
 * connection, twice on new connections, each opened by a good read carrying the client's
 * proof (the mutated request rides on the proven connection): in one write (the fast path
 * answers it) and with its first 5 bytes written alone (the fast path cannot recognise them
 * and hands everything to node:http). Both answers, and the follow-up's, must be the same both ways (Date aside):
 * a request the gate framed differently from node:http would desynchronise the follow-up.
 * Seeded (KEYBRIDGE_FUZZ_SEED replays one): a failure names its seed and variant.
 */
let agent: EmbeddedAgent;
let port: number;
let kek: string;
let nodeRequests = 0;

beforeAll(async () => {
  agent = await startEmbedded();
  port = Number(new URL(agent.url).port);
  agent.instance.agentServer.on('request', () => nodeRequests++);
  kek = (await agent.call('POST', '/v1/keys/set', { name: 'fuzz/key', value: 'fuzzed' })).json.wrapping_key;
});
afterAll(async () => {
  await agent?.stop();
});

/** mulberry32: small, seeded, good enough to pick mutations. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A good read; `authorization` for the first request of a connection. */
function goodRead(path = '/v1/keys/get', authorization?: string): string {
  const body = path === '/v1/keys/get' ? JSON.stringify({ name: 'fuzz/key', wrapping_key: kek }) : JSON.stringify({ names: ['fuzz/key'] });
  return [
    `POST ${path} HTTP/1.1`,
    'Host: 127.0.0.1',
    ...(authorization ? [`Authorization: ${authorization}`] : []),
    'Content-Type: application/json',
    `Content-Length: ${body.length}`,
    '',
    body,
  ].join('\r\n');
}

const INSERTS = [
  ' ',
  '\t',
  '\r',
  '\n',
  '\r\n',
  ':',
  ',',
  '\u0000',
  '\u00e9',
  'A',
  '0',
  '"',
  '\u007f',
  '\r\n ',
  'Transfer-Encoding: chunked\r\n',
  'Connection: close\r\n',
];
const EXTRA_HEADERS = [
  'X-Fuzz: 1',
  'Accept: application/json',
  'Connection: keep-alive',
  'Connection: Keep-Alive',
  'User-Agent: PHP/8.2',
  'Host: 127.0.0.1',
  'Content-Length: 0',
  'Expect: 100-continue',
  'X-Empty:',
  'X-Tab:\tv\t',
];

function mutate(text: string, next: () => number): string {
  const pick = <T>(items: readonly T[]) => items[Math.floor(next() * items.length)];
  const headEnd = text.indexOf('\r\n\r\n');
  const lines = text.slice(0, headEnd).split('\r\n');
  const body = text.slice(headEnd);
  const at = Math.floor(next() * (headEnd + 4));
  const line = 1 + Math.floor(next() * (lines.length - 1));
  const join = () => lines.join('\r\n') + body;
  switch (Math.floor(next() * 9)) {
    case 0:
      return text.slice(0, at) + pick(INSERTS) + text.slice(at);
    case 1:
      return text.slice(0, at) + text.slice(at + 1);
    case 2:
      return text.slice(0, at) + pick(INSERTS) + text.slice(at + 1);
    case 3: {
      const colon = lines[line].indexOf(':');
      const name = lines[line].slice(0, colon);
      lines[line] = (next() < 0.5 ? name.toUpperCase() : name.toLowerCase()) + lines[line].slice(colon);
      return join();
    }
    case 4: {
      const colon = lines[line].indexOf(':');
      lines[line] =
        `${lines[line].slice(0, colon + 1)}${pick(['', ' ', '\t', '  '])}${lines[line].slice(colon + 1).trim()}${pick(['', ' ', '\t'])}`;
      return join();
    }
    case 5:
      lines.splice(line, 0, pick(EXTRA_HEADERS));
      return join();
    case 6:
      lines.splice(line, 0, lines[line]);
      return join();
    case 7: {
      const other = 1 + Math.floor(next() * (lines.length - 1));
      [lines[line], lines[other]] = [lines[other], lines[line]];
      return join();
    }
    default:
      return text.replace(
        /Content-Length: (\d+)/,
        (_, n) => `Content-Length: ${pick(['00', '0', '']) + String(Number(n) + pick([-1, 0, 1]))}`,
      );
  }
}

/** Answers complete in `bytes` (Content-Length framed; node:http's bare 400 has no body). */
function completeAnswers(bytes: Buffer): number {
  let count = 0;
  for (let at = 0; ; count++) {
    const headEnd = bytes.indexOf('\r\n\r\n', at);
    if (headEnd < 0) return count;
    const length = Number(/\r\ncontent-length: *(\d+)/i.exec(bytes.toString('latin1', at, headEnd))?.[1] ?? 0);
    if (bytes.length < headEnd + 4 + length) return count;
    at = headEnd + 4 + length;
  }
}

/**
 * What the agent sends back on one connection opened by a proven read, `writes` following it
 * (until `expected` answers after the opening one, a close, or 1 s of quiet: only a
 * disagreement waits that long).
 */
async function converse(writes: Buffer[], expected: number): Promise<{ answers: string[]; closed: boolean }> {
  const socket: Socket = connect(port, '127.0.0.1');
  socket.setNoDelay(true);
  await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const opening = goodRead('/v1/keys/fetch', signOn(socket, agent.url, agent.token, 'POST', '/v1/keys/fetch').authorization);
  writes = [Buffer.concat([Buffer.from(opening, 'latin1'), writes[0]]), ...writes.slice(1)];
  expected++;
  let received = Buffer.alloc(0);
  let closed = false;
  let last = Date.now();
  socket.on('data', (chunk) => {
    received = Buffer.concat([received, chunk]);
    last = Date.now();
  });
  socket.on('error', () => undefined);
  socket.once('close', () => (closed = true));
  for (const [index, bytes] of writes.entries()) {
    if (index > 0) await new Promise((resolve) => setTimeout(resolve, 15));
    socket.write(bytes);
  }
  while (!closed && completeAnswers(received) < expected && Date.now() - last < 1_000) {
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  socket.destroy();
  // One string per answer, without the Date header and the agent's proof (it answers a fresh nonce).
  const text = received
    .toString('latin1')
    .replace(/\r\nDate: [^\r]*/g, '')
    .replace(/\r\nKeybridge-Proof: [^\r]*/g, '');
  return { answers: text.split(/(?=HTTP\/1\.1 \d{3} )/).filter(Boolean), closed };
}

describe('the socket fast path against node:http', () => {
  it('answers every mutated request it accepts, and the read after it, exactly as node:http does', async () => {
    const seed = Number(process.env.KEYBRIDGE_FUZZ_SEED ?? Date.now() % 1_000_000);
    const next = random(seed);
    const followUp = Buffer.from(goodRead(), 'latin1');
    let accepted = 0;
    for (let variant = 0; variant < 400; variant++) {
      const mutated = Buffer.from(mutate(goodRead(next() < 0.5 ? '/v1/keys/get' : '/v1/keys/fetch'), next), 'latin1');
      // With a follow-up behind it, as the fast path would see it (a length one byte long
      // then takes the follow-up's first byte, as node:http would).
      const request = parseReadRequest(Buffer.concat([mutated, followUp]), 0, LIMITS.bodyBytes);
      if (request === null) continue;
      accepted++;
      const bytes = Buffer.concat([Buffer.concat([mutated, followUp]).subarray(0, request.end), followUp]);
      const before = nodeRequests;
      const whole = await converse([bytes], 2);
      const where = `seed ${seed}, variant ${variant}: ${JSON.stringify(mutated.toString('latin1'))}`;
      expect(nodeRequests - before, where).toBe(0);
      const split = await converse([bytes.subarray(0, 5), bytes.subarray(5)], 2);
      expect(whole.answers, where).toHaveLength(3);
      expect(whole.answers, where).toEqual(split.answers);
      expect(whole.closed, where).toBe(split.closed);
    }
    // Enough of the variants passed the gate to say something about it.
    expect(accepted).toBeGreaterThan(100);
  }, 120_000);
});
