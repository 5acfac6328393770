/**
 * Per-request building blocks of a cached `keys/get`, timed one by one in this process
 * (not part of `npm run bench`; run it to see where the agent's CPU per request goes):
 *
 *   npx tsx bench/micro.ts
 *
 * Each line: mean ns per call over a fixed number of calls after a warm-up. Pieces are
 * the agent's own functions (imported read-only from sidecar/src) and the Web
 * Request/Response work that hono on @hono/node-server does per request, next to the
 * cheaper alternatives one could use instead.
 */
import { createDecipheriv, randomBytes, timingSafeEqual } from 'node:crypto';
import { openSync, writeSync, closeSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { decodeKek, generateKek, kb1Aad, kekId, encodeKek, unwrapValue, wrapValue, opaqueKeyId } from '../sidecar/src/crypto/index.ts';
import { PreparedCiphertexts } from '../sidecar/src/agent/keys/prepared-ciphertexts.ts';
import { normaliseKeyName } from '../sidecar/src/agent/keys/names.ts';
import { ProofChecker } from '../sidecar/src/agent/http/auth.ts';
import { ProofKey, signRequest } from '../sidecar/src/protocol/local-auth.ts';

interface Timing {
  name: string;
  ns: number;
}

async function time(name: string, calls: number, fn: () => unknown): Promise<Timing> {
  for (let i = 0; i < Math.min(calls, 2_000); i++) await fn();
  const started = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) {
    const result = fn();
    if (result instanceof Promise) await result;
  }
  const ns = Number(process.hrtime.bigint() - started) / calls;
  return { name, ns };
}

async function main(): Promise<void> {
  const siteSecret = new Uint8Array(randomBytes(32));
  const ctx = { siteId: 'site_abcdefgh12345678', environment: 'development' as const, keyId: '' };
  const name = 'bench/api_token_042';
  ctx.keyId = opaqueKeyId(siteSecret, 'development', name);
  const kek = generateKek();
  const kekString = encodeKek(kek);
  const value = new Uint8Array(Buffer.from('sk_live_0123456789abcdefghijklmnopqrstuv'));
  const ciphertext = wrapValue(kek, value, ctx);
  const token = randomBytes(32).toString('base64url');
  const raw = Buffer.from(ciphertext.slice(4), 'base64url');
  const aad = Buffer.from(`kb1\0${ctx.siteId}\0${ctx.environment}\0${ctx.keyId}`);
  const requestBody = JSON.stringify({ name, wrapping_key: kekString });
  const responseBody = JSON.stringify({ name, value_base64: Buffer.from(value).toString('base64'), version: 1 });
  const dir = mkdtempSync(join(tmpdir(), 'keybridge-micro-'));
  const logFd = openSync(join(dir, 'access.log'), 'a');
  const nullFd = openSync('/dev/null', 'a');

  const N = 50_000;
  const rows: Timing[] = [];
  const section = (title: string) => rows.push({ name: `# ${title}`, ns: NaN });

  section('keybridge work per cached keys/get (agent/keys.ts, crypto/)');
  rows.push(await time('normaliseKeyName(name)', N, () => normaliseKeyName(name)));
  rows.push(await time('decodeKek(wrapping_key)', N, () => decodeKek(kekString)));
  rows.push(await time('opaqueKeyId(): HMAC-SHA256 of the name', N, () => opaqueKeyId(siteSecret, 'development', name)));
  rows.push(await time('kekId(kek): HMAC-SHA256', N, () => kekId(kek)));
  rows.push(await time('unwrapValue(): kb1 parse + AAD + AES-256-GCM (crypto/aead.ts)', N, () => unwrapValue(kek, ciphertext, ctx)));
  rows.push(
    await time('  bare node:crypto AES-256-GCM decrypt, same bytes', N, () => {
      const decipher = createDecipheriv('aes-256-gcm', kek, raw.subarray(0, 12));
      decipher.setAAD(aad);
      decipher.setAuthTag(raw.subarray(raw.length - 16));
      return Buffer.concat([decipher.update(raw.subarray(12, raw.length - 16)), decipher.final()]);
    }),
  );
  const prepared = new PreparedCiphertexts();
  const record = { ciphertext };
  rows.push(
    await time('PreparedCiphertexts.open(): AES-256-GCM only, parse + AAD once per record', N, () => prepared.open(kek, record, ctx)),
  );
  rows.push(await time('  kb1Aad(ctx) alone (what open() saves, with the parse)', N, () => kb1Aad(ctx)));
  const checker = new ProofChecker(token);
  checker.listeningSince(Date.now() - 1_000);
  const clientKey = new ProofKey(token);
  const proofs = Array.from({ length: N + 2_000 }, () => signRequest(clientKey, 'POST', '/v1/keys/get', '127.0.0.1:50000').authorization);
  let proofAt = 0;
  rows.push(
    await time("client proof check + agent's proof (agent/http/auth.ts): the first request of a connection", N, () =>
      checker.verify(proofs[proofAt++], 'POST', '/v1/keys/get', '127.0.0.1:50000'),
    ),
  );
  rows.push(
    await time('  a client signing its request (protocol/local-auth.ts)', N, () => signRequest(clientKey, 'POST', '/v1/keys/get', 'unix')),
  );
  const proven = new WeakSet<object>([raw]);
  rows.push(await time('a later request on a proven connection: one WeakSet lookup', N, () => proven.has(raw)));
  const tokenBytes = Buffer.from(token);
  rows.push(
    await time('  before the proofs, per request: the bearer token compared (timingSafeEqual)', N, () =>
      timingSafeEqual(tokenBytes, Buffer.from(token)),
    ),
  );
  rows.push(
    await time('JSON.parse(request) + JSON.stringify(response)', N, () => [
      JSON.parse(requestBody),
      JSON.stringify(JSON.parse(responseBody)),
    ]),
  );

  section('access log line (cli/commands/up.ts), per request');
  const logLine = () =>
    `${JSON.stringify({ at: new Date().toISOString(), method: 'POST', path: '/v1/keys/get', status: 200, ms: Number((0.123456).toFixed(2)) })}\n`;
  rows.push(await time('format: JSON.stringify + toISOString', N, logLine));
  rows.push(await time('format + writeSync to a file', N, () => writeSync(logFd, logLine())));
  rows.push(await time('format + writeSync to /dev/null', N, () => writeSync(nullFd, logLine())));

  section('Web Request/Response work that @hono/node-server + hono do when forced off their fast path');
  const headers = {
    host: '127.0.0.1:1',
    authorization: proofs[0],
    'content-type': 'application/json',
    'content-length': String(requestBody.length),
  };
  rows.push(await time('new Headers(6 entries)', N, () => new Headers(headers)));
  rows.push(await time('new AbortController()', N, () => new AbortController()));
  rows.push(
    await time('new Request(url, {POST, headers, body: ReadableStream, signal})', 20_000, () => {
      const stream = new ReadableStream({
        start(controller) {
          controller.enqueue(Buffer.from(requestBody));
          controller.close();
        },
      });
      return new Request('http://127.0.0.1:1/v1/keys/get', {
        method: 'POST',
        headers,
        body: stream,
        signal: new AbortController().signal,
        duplex: 'half',
      } as RequestInit);
    }),
  );
  rows.push(
    await time('  … + await request.text()', 20_000, async () => {
      const request = new Request('http://127.0.0.1:1/v1/keys/get', {
        method: 'POST',
        headers,
        body: Readable.toWeb(Readable.from([Buffer.from(requestBody)])) as ReadableStream,
        duplex: 'half',
      } as RequestInit);
      return request.text();
    }),
  );
  rows.push(
    await time('read a body from a node Readable directly (chunks + Buffer.concat)', 20_000, async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of Readable.from([Buffer.from(requestBody)])) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks).toString('utf8');
    }),
  );
  rows.push(
    await time('new Response(json) + read its body stream', 20_000, async () => {
      const response = new Response(responseBody, { headers: { 'content-type': 'application/json' } });
      return response.arrayBuffer();
    }),
  );

  closeSync(logFd);
  closeSync(nullFd);
  rmSync(dir, { recursive: true, force: true });

  console.log(`node ${process.version}; mean per call`);
  for (const row of rows) {
    if (Number.isNaN(row.ns)) console.log(`\n${row.name.slice(2)}`);
    else console.log(`  ${(row.ns / 1000).toFixed(2).padStart(8)} µs  ${row.name}`);
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
