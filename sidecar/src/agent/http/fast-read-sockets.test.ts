import { createServer, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbedded, type EmbeddedAgent } from '../../../test-helpers/embedded.ts';
import { comparable, openSocket, readAnswers, signOn, type RawAnswer } from '../../../test-helpers/raw-http.ts';
import { fastReadSockets } from './fast-read-sockets.ts';
import { RequestPipeline } from './pipeline.ts';
import type { ReadOperations } from './routes/keys.ts';

/**
 * The socket-level fast path against a real embedded agent: what it serves must be, byte for
 * byte (Date and the agent's proof aside), what node:http serves for the same request, in the same order, and
 * everything it does not serve must reach node:http intact. Which of the two answered is
 * told by node:http's 'request' events, which the fast path never causes.
 */
let agent: EmbeddedAgent;
let nodeRequests = 0;
let kek: string;
let otherKek: string;

beforeAll(async () => {
  agent = await startEmbedded();
  agent.instance.agentServer.on('request', () => nodeRequests++);
  kek = (await agent.call('POST', '/v1/keys/set', { name: 'smtp/password', value: 'first value' })).json.wrapping_key;
  otherKek = (await agent.call('POST', '/v1/keys/set', { name: 'api/ключ', value: 'second value' })).json.wrapping_key;
});
afterAll(async () => {
  await agent?.stop();
});

/**
 * A request, made once its connection is open: the first request of a connection carries
 * the client's proof for it (`proofOn`), later ones ride on the proven connection.
 */
type Req = (proofOn?: Socket) => Buffer;

function post(path: string, body: string, headers: Record<string, string> = {}): Req {
  return (proofOn) => {
    const all: Record<string, string> = { Host: '127.0.0.1' };
    if (proofOn) all.Authorization = signOn(proofOn, agent.url, agent.token, 'POST', path).authorization;
    Object.assign(all, { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(body)) }, headers);
    const head = Object.entries(all)
      .filter(([, value]) => value !== '')
      .map(([name, value]) => `${name}: ${value}\r\n`)
      .join('');
    return Buffer.concat([Buffer.from(`POST ${path} HTTP/1.1\r\n${head}\r\n`, 'latin1'), Buffer.from(body, 'utf8')]);
  };
}

const get = (name: string, wrappingKey: string, headers?: Record<string, string>) =>
  post('/v1/keys/get', JSON.stringify({ name, wrapping_key: wrappingKey }), headers);

/** Requests in one write: the first signed for the connection. */
const together =
  (...requests: Req[]) =>
  (socket: Socket) => [Buffer.concat(requests.map((request, index) => request(index === 0 ? socket : undefined)))];

const open = () => openSocket(agent.url);

/** Sends the writes `build` makes on a new connection (each a separate write, `gapMs` apart) and reads `count` answers. */
async function exchange(
  build: (socket: Socket) => Buffer[],
  count: number,
  gapMs = 30,
): Promise<{ answers: RawAnswer[]; closed: boolean; viaNode: number }> {
  const before = nodeRequests;
  const socket = await open();
  const writes = build(socket);
  const reading = readAnswers(socket, count);
  for (const [index, bytes] of writes.entries()) {
    if (index > 0) await new Promise((resolve) => setTimeout(resolve, gapMs));
    socket.write(bytes);
  }
  const result = await reading;
  socket.destroy();
  return { ...result, viaNode: nodeRequests - before };
}

/** The same request whole (fast path) and cut in two (node:http), each first on a new connection: the same answer. */
async function bothWays(request: Req): Promise<RawAnswer> {
  const whole = await exchange(together(request), 1);
  expect(whole.viaNode, 'served by the fast path').toBe(0);
  const cut = await exchange((socket) => {
    const bytes = request(socket);
    // Cut inside the blank line that ends the head: both parts are non-empty even without a body.
    const headEnd = bytes.indexOf('\r\n\r\n') + 3;
    return [bytes.subarray(0, headEnd), bytes.subarray(headEnd)];
  }, 1);
  expect(cut.viaNode, 'served by node:http').toBe(1);
  expect(comparable(whole.answers[0])).toEqual(comparable(cut.answers[0]));
  return whole.answers[0];
}

describe('the socket fast path', () => {
  it('answers a read as node:http does, byte for byte but the Date and the proof', async () => {
    const answer = await bothWays(get('smtp/password', kek));
    expect(answer.status).toBe(200);
    expect(Buffer.from(JSON.parse(answer.body).value_base64, 'base64').toString()).toBe('first value');
    expect(answer.head).toMatch(
      /^HTTP\/1\.1 200 OK\r\nContent-Type: application\/json\r\nCache-Control: no-store\r\nKeybridge-Proof: [A-Za-z0-9_-]{22}\r\nContent-Length: \d+\r\nDate: [A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT\r\nConnection: keep-alive\r\nKeep-Alive: timeout=65$/,
    );
    const fetched = await bothWays(post('/v1/keys/fetch', JSON.stringify({ names: ['smtp/password', 'api/ключ', 'missing'] })));
    expect(JSON.parse(fetched.body).keys.map((key: { found: boolean }) => key.found)).toEqual([true, true, false]);
  });

  it('refuses what the node:http path refuses, with the same problem', async () => {
    const cases: [string, Req, string][] = [
      ['no proof', get('smtp/password', kek, { Authorization: '' }), 'unauthorized'],
      ['the token itself', get('smtp/password', kek, { Authorization: `Bearer ${agent.token}` }), 'unauthorized'],
      [
        'a proof made with another token',
        post('/v1/keys/get', '{}', { Authorization: `Keybridge t=${Date.now()}, n=${'A'.repeat(22)}, m=${'B'.repeat(22)}` }),
        'unauthorized',
      ],
      [
        'a lower-case scheme',
        get('smtp/password', kek, { Authorization: `keybridge t=${Date.now()}, n=${'A'.repeat(22)}, m=${'B'.repeat(22)}` }),
        'unauthorized',
      ],
      ['text/plain', get('smtp/password', kek, { 'Content-Type': 'text/plain' }), 'unsupported-media-type'],
      ['no Content-Type', get('smtp/password', kek, { 'Content-Type': '' }), 'unsupported-media-type'],
      ['truncated JSON', post('/v1/keys/get', '{"name": "smtp/password", "wrapping_key": "kb1$ab'), 'bad-request'],
      ['a JSON array', post('/v1/keys/get', '[]'), 'bad-request'],
      ['an empty body', post('/v1/keys/get', ''), 'bad-request'],
      ['an unknown field', post('/v1/keys/get', JSON.stringify({ name: 'smtp/password', wrapping_key: kek, extra: 1 })), 'invalid-field'],
      ['a malformed wrapping key', get('smtp/password', 'kb1$bad'), 'invalid-wrapping-key'],
      ['../', get('../etc/passwd', kek), 'invalid-name'],
      ['a NUL', get('a\u0000b', kek), 'invalid-name'],
      ['a 10 kB name', get('x'.repeat(10_000), kek), 'invalid-name'],
      ['a name never set', get('never/set', kek), 'key-not-found'],
      ["another key's KEK", get('smtp/password', otherKek), 'kek-mismatch'],
      ['no names', post('/v1/keys/fetch', JSON.stringify({ names: [] })), 'invalid-field'],
    ];
    for (const [what, request, type] of cases) {
      const answer = await bothWays(request);
      expect(JSON.parse(answer.body).type, what).toBe(type);
      expect(answer.head, what).toContain('Content-Type: application/problem+json');
      expect(answer.body, what).not.toContain('first value');
    }
  });

  it('answers pipelined requests in order, also when one must wait for the key service', async () => {
    // A name never asked for has no cached record: its answer waits for a key-service round trip.
    const requests = [
      get(`never/asked/${Date.now()}`, kek),
      get('smtp/password', kek),
      get('api/ключ', otherKek),
      get('smtp/password', otherKek),
    ];
    const { answers, viaNode } = await exchange(together(...requests), 4);
    expect(viaNode).toBe(0);
    expect(answers.map((answer) => answer.status)).toEqual([404, 200, 200, 409]);
    expect(Buffer.from(JSON.parse(answers[2].body).value_base64, 'base64').toString()).toBe('second value');
  });

  it('hands the connection to node:http at the first request it does not serve, with the bytes after it intact', async () => {
    const set = post('/v1/keys/set', JSON.stringify({ name: 'pipelined/set', value: 'set in a pipeline' }));
    const health = () => Buffer.from('GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n', 'latin1');
    const { answers, viaNode } = await exchange(together(get('smtp/password', kek), set, health, get('smtp/password', kek)), 4);
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200, 200]);
    expect(viaNode).toBe(3); // the set, the health check and the read after them
    expect(JSON.parse(answers[2].body).status).toBe('ok');
    const read = await agent.call('POST', '/v1/keys/get', {
      name: 'pipelined/set',
      wrapping_key: JSON.parse(answers[1].body).wrapping_key,
    });
    expect(Buffer.from(read.json.value_base64, 'base64').toString()).toBe('set in a pipeline');
  });

  it('keeps serving a connection after node:http has taken it, in later writes too', async () => {
    const socket = await open();
    const before = nodeRequests;
    for (const request of [
      get('smtp/password', kek)(socket),
      Buffer.from('GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'),
      get('smtp/password', kek)(),
      get('smtp/password', kek)(),
    ]) {
      const reading = readAnswers(socket, 1);
      socket.write(request);
      expect((await reading).answers[0].status).toBe(200);
    }
    expect(nodeRequests - before).toBe(3);
    socket.destroy();
  });

  it('gives a request split anywhere to node:http, which answers it the same', async () => {
    const request = get('api/ключ', otherKek);
    const whole = await exchange(together(request), 1);
    const headEnd = (bytes: Buffer) => bytes.indexOf('\r\n\r\n');
    const cuts: ((bytes: Buffer) => number)[] = [
      () => 1,
      () => 10,
      () => 27,
      () => 60,
      (bytes) => headEnd(bytes) + 1,
      (bytes) => headEnd(bytes) + 3,
      (bytes) => bytes.length - 1,
    ];
    for (const [index, cutAt] of cuts.entries()) {
      const split = await exchange(
        (socket) => {
          const bytes = request(socket);
          return [bytes.subarray(0, cutAt(bytes)), bytes.subarray(cutAt(bytes))];
        },
        1,
        20,
      );
      expect(split.viaNode, `cut ${index}`).toBe(1);
      expect(comparable(split.answers[0]), `cut ${index}`).toEqual(comparable(whole.answers[0]));
    }
  });

  it('leaves oversized and malformed requests to node:http, which refuses them as before', async () => {
    const big = await exchange(together(post('/v1/keys/get', 'x'.repeat(256 * 1024 + 1))), 1);
    expect(big.answers[0].status).toBe(413);
    expect(big.answers[0].head).toContain('Connection: close');
    const chunked = Buffer.from(
      `POST /v1/keys/get HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
      'latin1',
    );
    const smuggle = await exchange(() => [chunked], 1);
    expect(smuggle.answers[0].status).toBe(400);
    expect(smuggle.viaNode).toBe(0); // node:http's parser refused it before any request event
    const folded = await exchange(
      () => [Buffer.from(`POST /v1/keys/get HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n continued\r\nContent-Length: 2\r\n\r\n{}`, 'latin1')],
      1,
    );
    expect(folded.answers[0].status).toBe(400);
  });

  it('answers, then closes, a client that ends its side after its request', async () => {
    const socket = await open();
    const reading = readAnswers(socket, 2);
    socket.end(together(get(`never/asked/${Date.now()}`, kek), get('smtp/password', kek))(socket)[0]);
    const { answers } = await reading;
    expect(answers.map((answer) => answer.status)).toEqual([404, 200]);
    await new Promise((resolve) => (socket.closed ? resolve(null) : socket.once('close', resolve)));
  });

  it('refuses a request it cannot hand over because the client ended its side while an answer was pending', async () => {
    const socket = await open();
    const reading = readAnswers(socket, 3);
    const set = post('/v1/keys/set', JSON.stringify({ name: 'after/end', value: 'never stored' }));
    socket.end(together(get(`never/asked/${Date.now()}`, kek), get('smtp/password', kek), set)(socket)[0]);
    const { answers } = await reading;
    expect(answers.map((answer) => answer.status)).toEqual([404, 200, 400]);
    expect(answers[2].head).toBe('HTTP/1.1 400 Bad Request\r\nConnection: close');
    await new Promise((resolve) => (socket.closed ? resolve(null) : socket.once('close', resolve)));
    expect((await agent.call('GET', '/v1/keys')).json.keys.map((key: { name: string }) => key.name)).not.toContain('after/end');
  });

  it('serves a client that sends 2,000 reads before reading any answer', async () => {
    const socket = await open();
    const requests = together(...Array.from({ length: 2_000 }, (_, i) => (i % 2 ? get('smtp/password', kek) : get('api/ключ', otherKek))))(
      socket,
    )[0];
    socket.pause();
    socket.write(requests);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const reading = readAnswers(socket, 2_000, 20_000);
    socket.resume();
    const { answers } = await reading;
    expect(answers).toHaveLength(2_000);
    expect(
      answers.every((answer, i) => answer.status === 200 && JSON.parse(answer.body).name === (i % 2 ? 'smtp/password' : 'api/ключ')),
    ).toBe(true);
    socket.destroy();
  });

  it('logs each request it serves once, without its body or headers', async () => {
    const from = agent.logs.length;
    await exchange(together(get('smtp/password', kek), get('smtp/password', 'kb1$bad')), 2);
    const lines = agent.logs.slice(from);
    expect(lines.map(({ method, path, status }) => ({ method, path, status }))).toEqual([
      { method: 'POST', path: '/v1/keys/get', status: 200 },
      { method: 'POST', path: '/v1/keys/get', status: 422 },
    ]);
    expect(JSON.stringify(lines)).not.toContain(agent.token);
  });

  it('lets the agent close at once with idle kept-alive connections open', async () => {
    const other = await startEmbedded();
    const socket = await openSocket(other.url);
    const reading = readAnswers(socket, 1);
    const proof = signOn(socket, other.url, other.token, 'POST', '/v1/keys/fetch').authorization;
    socket.write(
      `POST /v1/keys/fetch HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${proof}\r\nContent-Type: application/json\r\nContent-Length: 15\r\n\r\n{"names":["a"]}`,
    );
    expect((await reading).answers[0].status).toBe(200);
    const started = Date.now();
    await other.stop();
    expect(Date.now() - started).toBeLessThan(5_000);
    await new Promise((resolve) => (socket.closed ? resolve(null) : socket.once('close', resolve)));
  });
});

describe('fastReadSockets on its own', () => {
  it('closes a connection idle for the keep-alive timeout', async () => {
    const token = 't'.repeat(43);
    const reads = { fetchCached: () => ({}) } as unknown as ReadOperations;
    const pipeline = new RequestPipeline({ token, reads });
    const sockets = fastReadSockets({ pipeline, handOff: (socket) => socket.destroy(), keepAliveTimeoutMs: 300 });
    const server = createServer((socket) => sockets.accept(socket));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    const socket = await openSocket(url);
    const reading = readAnswers(socket, 2, 3_000);
    const started = Date.now();
    const proof = signOn(socket, url, token, 'POST', '/v1/keys/fetch').authorization;
    socket.write(
      `POST /v1/keys/fetch HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${proof}\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}`,
    );
    const { answers, closed } = await reading;
    expect(answers).toHaveLength(1);
    expect(answers[0].head).toContain('Keep-Alive: timeout=0');
    expect(closed).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    sockets.closeAll();
    server.close();
  });
});
