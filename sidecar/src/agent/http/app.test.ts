import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbedded, type EmbeddedAgent } from '../../../test-helpers/embedded.ts';

/** Bad input at the agent's HTTP boundary: each gets a clear problem and loses nothing. */
let agent: EmbeddedAgent;
beforeAll(async () => {
  agent = await startEmbedded();
});
afterAll(async () => {
  await agent?.stop();
});

async function set(name: string, value: string, extra: Record<string, unknown> = {}) {
  return agent.call('POST', '/v1/keys/set', { name, value, ...extra });
}

describe('request bodies', () => {
  it('refuses malformed JSON without echoing it', async () => {
    const response = await agent.call('POST', '/v1/keys/set', '{"name": "a", "value": "hunter2-secret"');
    expect(response.status).toBe(400);
    expect(response.json.type).toBe('bad-request');
    expect(response.text).not.toContain('hunter2');
  });

  it('refuses a JSON body that is not an object', async () => {
    for (const body of ['[]', '"text"', 'null', '42']) {
      const response = await agent.call('POST', '/v1/keys/set', body);
      expect(response.json.type).toBe('bad-request');
    }
  });

  it('refuses a body that is not declared as JSON', async () => {
    const response = await agent.call('POST', '/v1/keys/set', '{}', { 'Content-Type': 'text/plain' });
    expect(response.status).toBe(415);
    expect(response.json.type).toBe('unsupported-media-type');
  });

  it('caps oversized bodies (declared length and streamed chunks)', async () => {
    const response = await set('big', 'x'.repeat(300 * 1024));
    expect(response.status).toBe(413);
    expect(response.json.type).toBe('body-too-large');
  });

  it('names an unknown field', async () => {
    const response = await set('a', 'b', { environment: 'production' });
    expect(response.status).toBe(422);
    expect(response.json).toMatchObject({ type: 'invalid-field', field: 'environment' });
  });

  it('takes a 64 KiB value and refuses one byte more', async () => {
    const ok = await agent.call('POST', '/v1/keys/set', { name: 'big/ok', value_base64: Buffer.alloc(65536, 7).toString('base64') });
    expect(ok.status).toBe(200);
    const tooBig = await agent.call('POST', '/v1/keys/set', { name: 'big/no', value_base64: Buffer.alloc(65537, 7).toString('base64') });
    expect(tooBig.json).toMatchObject({ type: 'invalid-value', field: 'value' });
  });

  it('round-trips bytes that are not UTF-8', async () => {
    const bytes = Buffer.from([0xff, 0xfe, 0x00, 0xc3, 0x28, 0x80]);
    const written = await agent.call('POST', '/v1/keys/set', { name: 'binary', value_base64: bytes.toString('base64') });
    const read = await agent.call('POST', '/v1/keys/get', { name: 'binary', wrapping_key: written.json.wrapping_key });
    expect(Buffer.from(read.json.value_base64, 'base64').equals(bytes)).toBe(true);
  });

  it('refuses value_base64 that is not base64', async () => {
    const response = await agent.call('POST', '/v1/keys/set', { name: 'x', value_base64: 'not base64!' });
    expect(response.json).toMatchObject({ type: 'invalid-value', field: 'value_base64' });
  });
});

describe('key names', () => {
  const refused: [string, string][] = [
    ['../etc/passwd', 'dot-dot segment'],
    ['a/../b', 'dot-dot inside'],
    ['nul\u0000byte', 'NUL'],
    ['x'.repeat(10 * 1024), '10 kB'],
    ['', 'empty'],
    ['with space', 'whitespace'],
    ['rtl\u202Eevil', 'bidi override'],
    ['zero\u200Bwidth', 'zero-width space'],
    ['/leading', 'empty segment'],
  ];
  for (const [name, why] of refused) {
    it(`refuses a name with ${why}`, async () => {
      const response = await set(name, 'v');
      expect(response.status).toBe(422);
      expect(response.json).toMatchObject({ type: 'invalid-name', field: 'name' });
      expect(response.text.length).toBeLessThan(1000);
    });
  }

  it('refuses a name that is not a string', async () => {
    const response = await agent.call('POST', '/v1/keys/set', { name: ['a'], value: 'v' });
    expect(response.json.type).toBe('invalid-name');
  });

  it('treats NFC and NFD spellings as one key, and refuses a look-alike in another script', async () => {
    const nfd = 'cle\u0301/api'; // "clé" with a combining accent
    const nfc = 'cl\u00e9/api';
    const written = await set(nfd, 'accent');
    expect(written.json.name).toBe(nfc);
    const read = await agent.call('POST', '/v1/keys/get', { name: nfc, wrapping_key: written.json.wrapping_key });
    expect(Buffer.from(read.json.value_base64, 'base64').toString()).toBe('accent');

    await set('paypal', 'latin');
    const cyrillic = await set('p\u0430ypal', 'cyrillic'); // Cyrillic а among Latin letters (look-alike-names.test.ts has more)
    expect(cyrillic.json).toMatchObject({ type: 'invalid-name', field: 'name' });
  });
});

describe('tokens', () => {
  it('refuses a request without a proof, the token itself, a wrong or malformed proof, and a token in the query string', async () => {
    const url = `${agent.url}/v1/keys`;
    const proofLike = `Keybridge t=${Date.now()}, n=${'A'.repeat(22)}, m=${'B'.repeat(22)}`;
    const variants: Record<string, string>[] = [
      {},
      { Authorization: 'Bearer wrong' },
      { Authorization: `Bearer ${agent.token}` },
      { Authorization: proofLike },
    ];
    for (const headers of variants) {
      const response = await fetch(url, { headers });
      expect(response.status).toBe(401);
      expect(await response.text()).not.toContain(agent.token);
    }
    expect((await fetch(url, { headers: { Authorization: `Basic ${agent.token}` } })).status).toBe(401);
    expect((await fetch(`${url}?token=${agent.token}`)).status).toBe(401);
    const bearer = await (await fetch(url, { headers: { Authorization: `Bearer ${agent.token}` } })).json();
    expect(bearer.detail).toContain('the agent token is never sent');
    expect((await agent.call('GET', '/v1/keys')).status).toBe(200);
  });

  it('the fast read path (keys/get, keys/fetch) refuses the same headers with the same problem as the routed operations', async () => {
    const t = Date.now();
    const headers = [
      undefined,
      'Bearer wrong',
      `Bearer ${agent.token}`,
      `Basic ${agent.token}`,
      `Keybridge t=${t}, n=${'A'.repeat(22)}, m=${'B'.repeat(22)}`,
      `keybridge t=${t}, n=${'A'.repeat(22)}, m=${'B'.repeat(22)}`,
      `Keybridge t=${t},n=${'A'.repeat(22)},m=${'B'.repeat(22)}`,
      `Keybridge  t=${t}, n=${'A'.repeat(22)}, m=${'B'.repeat(22)}`,
      `Keybridge t=${t}, n=${'A'.repeat(22)}, m=${'B'.repeat(22)} x`,
      `Keybridge t=${t}, n=${'A'.repeat(21)}, m=${'B'.repeat(22)}`,
      `Keybridge t=${t}, n=${'A'.repeat(22)}`,
      'Keybridge',
    ];
    const problem = async (path: string, authorization: string | undefined) => {
      const response = await fetch(`${agent.url}${path}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...(authorization === undefined ? {} : { Authorization: authorization }) },
        body: '{}',
      });
      const json = await response.json();
      return { status: response.status, type: json.type, detail: json.detail };
    };
    for (const authorization of headers) {
      const routed = await problem('/v1/keys/set', authorization);
      expect(routed.status, authorization).toBe(401);
      expect(await problem('/v1/keys/get', authorization), authorization).toEqual(routed);
      expect(await problem('/v1/keys/fetch', authorization), authorization).toEqual(routed);
    }
  });

  it('checks the token before reading the body', async () => {
    const response = await fetch(`${agent.url}/v1/keys/set`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: 'x'.repeat(1024 * 1024),
    });
    expect(response.status).toBe(401);
  });
});

describe('wrapping keys', () => {
  it('reports kek-mismatch for a value set under another KEK, and lists it in the status', async () => {
    const first = await set('smtp/password', 'one');
    await set('smtp/password', 'two'); // a new KEK: as if set on another copy of the database
    const read = await agent.call('POST', '/v1/keys/get', { name: 'smtp/password', wrapping_key: first.json.wrapping_key });
    expect(read.status).toBe(409);
    expect(read.json.type).toBe('kek-mismatch');
    expect(read.json.title).toContain('set this key again in this environment');
    const status = await agent.call('GET', '/v1/status');
    const row = status.json.rows.find((r: { id: string }) => r.id === 'keys-need-reset');
    expect(row.severity).toBe('warning');
    expect(row.value.split(', ')).toContain('smtp/password');

    const again = await set('smtp/password', 'three', { wrapping_key: first.json.wrapping_key });
    expect(again.json.wrapping_key).toBe(first.json.wrapping_key);
    const status2 = await agent.call('GET', '/v1/status');
    const row2 = status2.json.rows.find((r: { id: string }) => r.id === 'keys-need-reset');
    expect(row2.value.split(', ')).not.toContain('smtp/password');
  });

  it('keeps the KEK on a re-set, makes a new one on rotate, and the old one stops working', async () => {
    const first = await set('api/token', 'v1', { label: 'API token' });
    const second = await set('api/token', 'v2', { wrapping_key: first.json.wrapping_key });
    expect(second.json).toMatchObject({ wrapping_key: first.json.wrapping_key, version: first.json.version + 1 });
    const rotated = await agent.call('POST', '/v1/keys/rotate', { name: 'api/token', wrapping_key: first.json.wrapping_key });
    expect(rotated.json.wrapping_key).not.toBe(first.json.wrapping_key);
    const old = await agent.call('POST', '/v1/keys/get', { name: 'api/token', wrapping_key: first.json.wrapping_key });
    expect(old.json.type).toBe('kek-mismatch');
    const fresh = await agent.call('POST', '/v1/keys/get', { name: 'api/token', wrapping_key: rotated.json.wrapping_key });
    expect(Buffer.from(fresh.json.value_base64, 'base64').toString()).toBe('v2');
    const listing = await agent.call('GET', '/v1/keys');
    expect(listing.json.keys.find((k: { name: string }) => k.name === 'api/token').label).toBe('API token');
  });

  it('refuses malformed wrapping keys', async () => {
    for (const bad of ['', 'kb1$short', 'kb2$' + 'A'.repeat(43), 42]) {
      const response = await agent.call('POST', '/v1/keys/get', { name: 'api/token', wrapping_key: bad });
      expect(response.status).toBe(422);
      expect(['invalid-wrapping-key', 'invalid-field']).toContain(response.json.type);
    }
  });

  it('answers key-not-found for a missing key and on delete', async () => {
    const written = await set('gone', 'v');
    expect((await agent.call('POST', '/v1/keys/delete', { name: 'gone' })).json).toEqual({ name: 'gone', deleted: true });
    const read = await agent.call('POST', '/v1/keys/get', { name: 'gone', wrapping_key: written.json.wrapping_key });
    expect(read.json.type).toBe('key-not-found');
    expect((await agent.call('POST', '/v1/keys/delete', { name: 'gone' })).json.type).toBe('key-not-found');
  });
});

describe('generate and fetch', () => {
  it('generates random keys of the requested size and refuses odd sizes', async () => {
    const written = await agent.call('POST', '/v1/keys/generate', { name: 'enc/key', bits: 256 });
    const read = await agent.call('POST', '/v1/keys/get', { name: 'enc/key', wrapping_key: written.json.wrapping_key });
    expect(Buffer.from(read.json.value_base64, 'base64')).toHaveLength(32);
    for (const bits of [0, 63, 100, 8192, '256', 256.5]) {
      const bad = await agent.call('POST', '/v1/keys/generate', { name: 'enc/bad', bits });
      expect(bad.json).toMatchObject({ type: 'invalid-field', field: 'bits' });
    }
  });

  it('fetches ciphertexts with their AAD fields in one batch, found or not', async () => {
    await set('fetch/a', 'A');
    const response = await agent.call('POST', '/v1/keys/fetch', { names: ['fetch/a', 'fetch/missing'] });
    expect(response.json.keys[0]).toMatchObject({ name: 'fetch/a', found: true });
    expect(response.json.keys[0].ciphertext).toMatch(/^kb1\./);
    expect(response.json.keys[1]).toMatchObject({ name: 'fetch/missing', found: false });
    const tooMany = await agent.call('POST', '/v1/keys/fetch', { names: Array.from({ length: 101 }, (_, i) => `k${i}`) });
    expect(tooMany.json).toMatchObject({ type: 'invalid-field', field: 'names' });
    const badName = await agent.call('POST', '/v1/keys/fetch', { names: ['ok', '../no'] });
    expect(badName.json).toMatchObject({ type: 'invalid-name', field: 'names[1]' });
  });
});

describe('the fast read path (POST /v1/keys/get and /v1/keys/fetch on plain node:http)', () => {
  for (const path of ['/v1/keys/get', '/v1/keys/fetch']) {
    it(`${path}: the same checks, in the same order, as every other route`, async () => {
      const noToken = await fetch(`${agent.url}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
      expect(noToken.status).toBe(401);
      expect(noToken.headers.get('content-type')).toBe('application/problem+json');
      expect(noToken.headers.get('cache-control')).toBe('no-store');
      const wrongType = await agent.call('POST', path, '{}', { 'Content-Type': 'text/plain' });
      expect(wrongType.json.type).toBe('unsupported-media-type');
      const malformed = await agent.call('POST', path, '{"names": ["secret-in-body"');
      expect(malformed.json.type).toBe('bad-request');
      expect(malformed.text).not.toContain('secret-in-body');
      const unknown = await agent.call('POST', path, { names: ['a'], name: 'a', wrapping_key: 'kb1$x', extra: 1 });
      expect(unknown.json).toMatchObject({ type: 'invalid-field' });
      const big = await agent.call('POST', path, { names: ['x'.repeat(300 * 1024)] });
      expect(big.status).toBe(413);
      // The connection that carried the oversized body was closed, not reused.
      expect((await agent.call('GET', '/v1/health')).status).toBe(200);
    });
  }
});
