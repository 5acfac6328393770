import { describe, expect, it } from 'vitest';
import { MAX_HEAD_BYTES, parseReadRequest } from './strict-request.ts';

const MAX_BODY = 256 * 1024;
const BODY = '{"name":"smtp/password","wrapping_key":"kb1$x"}';

/** A request as PHP's Keybridge_Agent_Connection writes it, with `headers` replacing its headers when given. */
function request(options: { line?: string; headers?: string[]; body?: string } = {}): Buffer {
  const body = options.body ?? BODY;
  const headers = options.headers ?? [
    'Host: 127.0.0.1',
    'Accept: application/json',
    'Authorization: Bearer abc',
    'Content-Type: application/json',
    `Content-Length: ${Buffer.byteLength(body)}`,
  ];
  return Buffer.from(`${options.line ?? 'POST /v1/keys/get HTTP/1.1'}\r\n${headers.map((h) => `${h}\r\n`).join('')}\r\n${body}`, 'latin1');
}

function withHeaders(...extra: string[]): Buffer {
  return request({ headers: ['Host: a', 'Content-Length: ' + BODY.length, ...extra] });
}

describe('parseReadRequest', () => {
  it('reads the two read routes as PHP and the load generator send them', () => {
    const parsed = parseReadRequest(request(), 0, MAX_BODY);
    expect(parsed).toEqual({
      method: 'POST',
      path: '/v1/keys/get',
      host: '127.0.0.1',
      authorization: 'Bearer abc',
      contentType: 'application/json',
      contentLength: Buffer.byteLength(BODY),
      body: BODY,
      end: request().length,
    });
    const fetch = parseReadRequest(request({ line: 'POST /v1/keys/fetch HTTP/1.1', body: '{"names":["a"]}' }), 0, MAX_BODY);
    expect(fetch?.path).toBe('/v1/keys/fetch');
    expect(fetch?.body).toBe('{"names":["a"]}');
  });

  it('finds where the next pipelined request starts, and reads it from there', () => {
    const first = request();
    const second = request({ line: 'POST /v1/keys/fetch HTTP/1.1', body: '{"names":["b"]}' });
    const both = Buffer.concat([first, second]);
    const one = parseReadRequest(both, 0, MAX_BODY);
    expect(one?.end).toBe(first.length);
    const two = parseReadRequest(both, first.length, MAX_BODY);
    expect(two).toMatchObject({ path: '/v1/keys/fetch', body: '{"names":["b"]}', end: both.length });
  });

  it('decodes the body as UTF-8 and counts Content-Length in bytes', () => {
    const body = '{"name":"clé/ключ/鍵/😀"}';
    const bytes = Buffer.concat([
      Buffer.from(`POST /v1/keys/get HTTP/1.1\r\nHost: a\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`, 'latin1'),
      Buffer.from(body, 'utf8'),
    ]);
    expect(parseReadRequest(bytes, 0, MAX_BODY)?.body).toBe(body);
  });

  it('accepts what HTTP allows and node:http reads the same way: any header case, spaces around values, keep-alive, other headers', () => {
    for (const headers of [
      ['host: a', `content-length: ${BODY.length}`],
      ['HOST:a', `CONTENT-LENGTH:${BODY.length}`],
      ['Host: a', `Content-Length: \t${BODY.length}  `, 'Connection: keep-alive', 'X-Trace: 1 2\t3\t'],
      ['Host: a', `Content-Length: 000${BODY.length}`, 'Connection: Keep-Alive', 'User-Agent: PHP/8.2'],
    ]) {
      expect(parseReadRequest(request({ headers }), 0, MAX_BODY)?.body, headers.join('|')).toBe(BODY);
    }
    expect(parseReadRequest(request({ headers: ['Host: a', 'Content-Length: 0'], body: '' }), 0, MAX_BODY)?.body).toBe('');
  });

  // Each of these goes to node:http, which parses it fully: answers it, or refuses it as before.
  const handedOver: [string, Buffer][] = [
    ['another route', request({ line: 'POST /v1/keys/set HTTP/1.1' })],
    ['a query string', request({ line: 'POST /v1/keys/get?x=1 HTTP/1.1' })],
    ['a trailing slash', request({ line: 'POST /v1/keys/get/ HTTP/1.1' })],
    ['absolute form', request({ line: 'POST http://a/v1/keys/get HTTP/1.1' })],
    ['GET', request({ line: 'GET /v1/keys/get HTTP/1.1' })],
    ['lower-case method', request({ line: 'post /v1/keys/get HTTP/1.1' })],
    ['HTTP/1.0', request({ line: 'POST /v1/keys/get HTTP/1.0' })],
    ['HTTP/1.10', request({ line: 'POST /v1/keys/get HTTP/1.10' })],
    ['two spaces in the request line', request({ line: 'POST  /v1/keys/get HTTP/1.1' })],
    ['a trailing space in the request line', request({ line: 'POST /v1/keys/get HTTP/1.1 ' })],
    ['no Host', request({ headers: [`Content-Length: ${BODY.length}`] })],
    ['two Hosts', withHeaders('Host: b')],
    ['an empty Host', request({ headers: ['Host:', `Content-Length: ${BODY.length}`] })],
    ['no Content-Length', request({ headers: ['Host: a'] })],
    ['two Content-Lengths, equal', withHeaders(`Content-Length: ${BODY.length}`)],
    ['a signed Content-Length', request({ headers: ['Host: a', `Content-Length: +${BODY.length}`] })],
    ['a tab after the Content-Length (node:http refuses it)', request({ headers: ['Host: a', `Content-Length: ${BODY.length}\t`] })],
    ['a hex Content-Length', request({ headers: ['Host: a', `Content-Length: 0x${BODY.length.toString(16)}`] })],
    ['a Content-Length list', request({ headers: ['Host: a', `Content-Length: ${BODY.length}, ${BODY.length}`] })],
    ['an 8-digit Content-Length', request({ headers: ['Host: a', `Content-Length: ${String(BODY.length).padStart(8, '0')}`] })],
    ['a body over the cap', request({ headers: ['Host: a', `Content-Length: ${MAX_BODY + 1}`], body: 'x'.repeat(MAX_BODY + 1) })],
    ['Transfer-Encoding: chunked', withHeaders('Transfer-Encoding: chunked')],
    ['transfer-encoding in any case', withHeaders('TRANSFER-ENCODING: identity')],
    ['Expect: 100-continue', withHeaders('Expect: 100-continue')],
    ['Upgrade', withHeaders('Upgrade: h2c')],
    ['Connection: close', withHeaders('Connection: close')],
    ['Connection with more tokens', withHeaders('Connection: keep-alive, Upgrade')],
    ['two Authorizations', withHeaders('Authorization: Bearer a', 'Authorization: Bearer b')],
    ['two Content-Types', withHeaders('Content-Type: application/json', 'Content-Type: text/plain')],
    ['a space before the colon', withHeaders('Authorization : Bearer a')],
    ['a folded line (obs-fold)', withHeaders('X-A: 1', ' continued')],
    ['a tab-folded line', withHeaders('X-A: 1', '\tcontinued')],
    ['a header without a colon', withHeaders('X-A 1')],
    ['an empty header name', withHeaders(': 1')],
    ['a name with a slash', withHeaders('X/A: 1')],
    ['an empty value', withHeaders('X-A:')],
    ['a NUL in a value', withHeaders('X-A: a\u0000b')],
    ['a DEL in a value', withHeaders('X-A: a\u007fb')],
    ['a byte above 0x7E in a value', withHeaders('X-A: caf\u00e9')],
    ['a bare CR in a value', withHeaders('X-A: a\rb')],
    [
      'a bare LF between headers',
      Buffer.from(`POST /v1/keys/get HTTP/1.1\r\nHost: a\nContent-Length: ${BODY.length}\r\n\r\n${BODY}`, 'latin1'),
    ],
    ['LF-only line ends', Buffer.from(`POST /v1/keys/get HTTP/1.1\nHost: a\nContent-Length: ${BODY.length}\n\n${BODY}`, 'latin1')],
    [
      'a bare LF after the request line',
      Buffer.from(`POST /v1/keys/get HTTP/1.1\nHost: a\r\nContent-Length: ${BODY.length}\r\n\r\n${BODY}`, 'latin1'),
    ],
    ['an empty buffer', Buffer.alloc(0)],
    ['no headers at all', Buffer.from('POST /v1/keys/get HTTP/1.1\r\n\r\n', 'latin1')],
    ['65 header lines', withHeaders(...Array.from({ length: 63 }, (_, i) => `X-${i}: 1`))],
    ['a head over 8 KiB', withHeaders(`X-Long: ${'a'.repeat(MAX_HEAD_BYTES)}`)],
  ];

  for (const [what, bytes] of handedOver) {
    it(`leaves ${what} to node:http`, () => {
      expect(parseReadRequest(bytes, 0, MAX_BODY)).toBeNull();
    });
  }

  it('takes 64 header lines and a head of 8 KiB', () => {
    expect(parseReadRequest(withHeaders(...Array.from({ length: 62 }, (_, i) => `X-${i}: 1`)), 0, MAX_BODY)).not.toBeNull();
    const fill = MAX_HEAD_BYTES - `POST /v1/keys/get HTTP/1.1\r\nHost: a\r\nContent-Length: ${BODY.length}\r\nX-Long: `.length;
    expect(parseReadRequest(withHeaders(`X-Long: ${'a'.repeat(fill)}`), 0, MAX_BODY)).not.toBeNull();
  });

  it('waits for the whole request: every cut of it is left to node:http', () => {
    const whole = request();
    for (let cut = 0; cut < whole.length; cut++) {
      expect(parseReadRequest(whole.subarray(0, cut), 0, MAX_BODY), `cut at ${cut}`).toBeNull();
    }
    expect(parseReadRequest(whole, 0, MAX_BODY)).not.toBeNull();
  });
});
