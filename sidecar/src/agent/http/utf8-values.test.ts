import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbedded, type EmbeddedAgent } from '../../../test-helpers/embedded.ts';
import { openSocket, readAnswers, signOn } from '../../../test-helpers/raw-http.ts';

/**
 * Issue 13, finding 7: a `value` sent with invalid UTF-8 was stored as U+FFFD without a word.
 * Against a real agent: the raw bytes go over the wire as an attacker or a broken client
 * would send them, to the hono routes and to the socket fast path of the read routes.
 */
let agent: EmbeddedAgent;
beforeAll(async () => {
  agent = await startEmbedded();
});
afterAll(async () => {
  await agent?.stop();
});

/** POSTs raw bytes as application/json, on a connection proven as any client's. */
async function postBytes(path: string, body: Buffer) {
  const answer = await agent.call('POST', path, body);
  return { status: answer.status, json: answer.json, text: answer.text };
}

/** One request on a fresh connection, as the socket fast path first sees it; the answer's status and body. */
async function rawPost(path: string, body: Buffer): Promise<{ status: number; json: { type?: string } }> {
  const socket = await openSocket(agent.url);
  try {
    const proof = signOn(socket, agent.url, agent.token, 'POST', path).authorization;
    const head = `POST ${path} HTTP/1.1\r\nHost: ${new URL(agent.url).host}\r\nAuthorization: ${proof}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`;
    const answered = readAnswers(socket, 1);
    socket.write(Buffer.concat([Buffer.from(head, 'latin1'), body]));
    const [answer] = (await answered).answers;
    return { status: answer.status, json: JSON.parse(answer.body) };
  } finally {
    socket.destroy();
  }
}

function json(parts: (string | number[])[]): Buffer {
  return Buffer.concat(parts.map((part) => (typeof part === 'string' ? Buffer.from(part, 'utf8') : Buffer.from(part))));
}

describe('invalid UTF-8 in a value', () => {
  const cases: [string, number[]][] = [
    ['a lone continuation byte', [0x80]],
    ['a truncated two-byte sequence', [0xc3]],
    ['an overlong encoding of "/"', [0xc0, 0xaf]],
    ['a UTF-8-encoded surrogate', [0xed, 0xa0, 0x80]],
    ['0xFF', [0xff]],
  ];
  for (const [why, bytes] of cases) {
    it(`refuses ${why} with invalid-value and stores nothing`, async () => {
      const name = `utf8/${why.replace(/[^a-z0-9]+/g, '-')}`;
      const response = await postBytes('/v1/keys/set', json(['{"name":"', name, '","value":"secret-', bytes, '-tail"}']));
      expect(response.status).toBe(422);
      expect(response.json).toMatchObject({ type: 'invalid-value', field: 'value' });
      expect(response.text).not.toContain('secret-');
      const listed = await agent.call('GET', '/v1/keys?limit=1000');
      expect(listed.json.keys.map((key: { name: string }) => key.name)).not.toContain(name);
    });
  }

  it('refuses a lone surrogate escape (valid JSON, no UTF-8 text)', async () => {
    const response = await agent.call('POST', '/v1/keys/set', '{"name":"utf8/escape","value":"a\\ud800b"}');
    expect(response.json).toMatchObject({ type: 'invalid-value', field: 'value' });
  });

  it('still takes every valid UTF-8 value, U+FFFD included, and any bytes as value_base64', async () => {
    const text = 'caf\u00e9 \u{1f511} \ufffd';
    const written = await agent.call('POST', '/v1/keys/set', { name: 'utf8/fine', value: text });
    const read = await agent.call('POST', '/v1/keys/get', { name: 'utf8/fine', wrapping_key: written.json.wrapping_key });
    expect(Buffer.from(read.json.value_base64, 'base64').toString('utf8')).toBe(text);
  });

  it('refuses invalid UTF-8 in a name with bad-request naming the field', async () => {
    const response = await postBytes('/v1/keys/set', json(['{"name":"utf8/', [0xff], '","value":"v"}']));
    expect(response.status).toBe(400);
    expect(response.json).toMatchObject({ type: 'bad-request', field: 'name' });
  });

  it('refuses invalid UTF-8 on the read routes too (the socket fast path hands it to node:http)', async () => {
    let handedOver = 0;
    const count = () => handedOver++;
    agent.instance.agentServer.on('request', count);
    // A valid read is answered on the socket fast path: node:http never sees it.
    expect((await rawPost('/v1/keys/fetch', Buffer.from('{"names":["utf8/fine"]}'))).status).toBe(200);
    expect(handedOver).toBe(0);
    for (const path of ['/v1/keys/get', '/v1/keys/fetch']) {
      const body =
        path === '/v1/keys/get'
          ? json(['{"name":"utf8/', [0xc3], '","wrapping_key":"kb1$', 'A'.repeat(43), '"}'])
          : json(['{"names":["utf8/', [0xc3], '"]}']);
      const response = await rawPost(path, body);
      expect(response.status).toBe(400);
      expect(response.json.type).toBe('bad-request');
    }
    agent.instance.agentServer.off('request', count);
    expect(handedOver).toBe(2);
    // And the next request is served as before.
    expect((await agent.call('POST', '/v1/keys/fetch', { names: ['utf8/fine'] })).status).toBe(200);
  });
});
