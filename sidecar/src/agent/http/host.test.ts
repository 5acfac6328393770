import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbedded, type EmbeddedAgent } from '../../../test-helpers/embedded.ts';
import type { Socket } from 'node:net';
import { comparable, openSocket, rawRequest, readAnswers, signOn, withoutDate, type RawAnswer } from '../../../test-helpers/raw-http.ts';
import { isLoopbackHost } from './host.ts';

/**
 * The DNS-rebinding guard (host.ts) on a real agent, through every front end: a whole hot
 * read (the socket front end), the same read split in two (node:http), and a routed
 * operation (node:http, then hono). On TCP a Host that is not a loopback name or address is
 * refused with the same answer everywhere; on a unix socket any Host is taken.
 */
describe('isLoopbackHost', () => {
  it('takes loopback names and addresses, with or without a port', () => {
    for (const host of ['localhost', 'LOCALHOST:8877', '127.0.0.1', '127.0.0.1:80', '127.1.2.3:65535', '[::1]', '[::1]:8877']) {
      expect(isLoopbackHost(host), host).toBe(true);
    }
  });

  it('refuses every other name, and tricks that start like a loopback one', () => {
    for (const host of [
      undefined,
      '',
      'evil.example',
      'evil.example:8877',
      'localhost.evil.example',
      'evil.localhost',
      '127.0.0.1.nip.io',
      '127.0.0.1:8877.evil.example',
      '127.0.0.256',
      '127.0.0',
      '0.0.0.0',
      '10.0.0.1',
      '[::1].evil',
      '::1',
      '[::ffff:7f00:1]',
      'localhost:',
      'localhost:8877:1',
      ' localhost',
    ]) {
      expect(isLoopbackHost(host), String(host)).toBe(false);
    }
  });
});

let tcp: EmbeddedAgent;
let unix: EmbeddedAgent;
const dir = mkdtempSync(join(tmpdir(), 'kb-host-'));
let nodeRequests = 0;

beforeAll(async () => {
  tcp = await startEmbedded();
  unix = await startEmbedded({ listen: { kind: 'unix', path: join(dir, 'agent.sock') } });
  for (const agent of [tcp, unix]) agent.instance.agentServer.on('request', () => nodeRequests++);
});
afterAll(async () => {
  await tcp?.stop();
  await unix?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** A request's bytes, made once its connection is open (the proof names the connection). */
type Build = (socket: Socket) => Buffer;

/** The Authorization header of the first request on `socket` to `agent`. */
function authorization(agent: EmbeddedAgent, socket: Socket, method: string, path: string): [string, string] {
  return ['Authorization', signOn(socket, agent.url, agent.token, method, path).authorization];
}

function fetchRead(agent: EmbeddedAgent, host: string): Build {
  const body = JSON.stringify({ names: ['host/test'] });
  return (socket) =>
    rawRequest(
      'POST /v1/keys/fetch HTTP/1.1',
      [
        ['Host', host],
        authorization(agent, socket, 'POST', '/v1/keys/fetch'),
        ['Content-Type', 'application/json'],
        ['Content-Length', String(Buffer.byteLength(body))],
      ],
      body,
    );
}

/** One request on a new connection, whole or split after its first 5 bytes; its answer and which front end gave it. */
async function send(agent: EmbeddedAgent, build: Build, split = false): Promise<{ answer: RawAnswer; viaNode: boolean }> {
  const before = nodeRequests;
  const socket = await openSocket(agent.url);
  const request = build(socket);
  const reading = readAnswers(socket, 1);
  if (split) {
    socket.write(request.subarray(0, 5));
    await new Promise((resolve) => setTimeout(resolve, 30));
    socket.write(request.subarray(5));
  } else {
    socket.write(request);
  }
  const { answers } = await reading;
  socket.destroy();
  return { answer: answers[0], viaNode: nodeRequests > before };
}

const REFUSED = ['evil.example:8877', 'localhost.evil.example', '127.0.0.1.nip.io', '10.0.0.1'];

describe('on TCP', () => {
  for (const host of REFUSED) {
    it(`refuses Host: ${host} with the same answer on every front end`, async () => {
      const whole = await send(tcp, fetchRead(tcp, host));
      expect(whole.viaNode, 'the socket front end answered').toBe(false);
      expect(whole.answer.status).toBe(403);
      expect(JSON.parse(whole.answer.body).type).toBe('host-not-allowed');
      expect(whole.answer.head).toContain('Cache-Control: no-store');
      const split = await send(tcp, fetchRead(tcp, host), true);
      expect(split.viaNode, 'node:http answered').toBe(true);
      expect(withoutDate(split.answer)).toEqual(withoutDate(whole.answer));

      const set = JSON.stringify({ name: 'host/set', value: 'never stored' });
      const routed = await send(tcp, (socket) =>
        rawRequest(
          'POST /v1/keys/set HTTP/1.1',
          [
            ['Host', host],
            authorization(tcp, socket, 'POST', '/v1/keys/set'),
            ['Content-Type', 'application/json'],
            ['Content-Length', String(set.length)],
          ],
          set,
        ),
      );
      expect(withoutDate(routed.answer)).toEqual(withoutDate(whole.answer));
      const health = await send(tcp, () => rawRequest('GET /v1/health HTTP/1.1', [['Host', host]]));
      expect(withoutDate(health.answer)).toEqual(withoutDate(whole.answer));
    });
  }

  it('refuses a request without a Host (HTTP/1.0), and answers loopback names', async () => {
    const noHost = await send(tcp, () => rawRequest('GET /v1/health HTTP/1.0', []));
    expect(noHost.answer.status).toBe(403);
    for (const host of [new URL(tcp.url).host, `localhost:${new URL(tcp.url).port}`, '[::1]']) {
      const read = await send(tcp, fetchRead(tcp, host));
      expect(read.answer.status, host).toBe(200);
      expect((await send(tcp, () => rawRequest('GET /v1/health HTTP/1.1', [['Host', host]]))).answer.status, host).toBe(200);
    }
    expect((await tcp.call('GET', '/v1/keys')).json.keys.map((key: { name: string }) => key.name)).not.toContain('host/set');
  });
});

describe('on a unix socket', () => {
  it('takes any Host on every front end (no browser reaches a unix socket)', async () => {
    for (const host of [...REFUSED, 'localhost']) {
      const whole = await send(unix, fetchRead(unix, host));
      expect(whole.viaNode).toBe(false);
      expect(whole.answer.status, host).toBe(200);
      const split = await send(unix, fetchRead(unix, host), true);
      expect(split.viaNode).toBe(true);
      expect(comparable(split.answer)).toEqual(comparable(whole.answer));
      expect((await send(unix, () => rawRequest('GET /v1/health HTTP/1.1', [['Host', host]]))).answer.status, host).toBe(200);
    }
  });
});
