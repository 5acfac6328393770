import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { errorType } from '../../test-helpers/errors.ts';
import { KeybridgeError } from '../errors.ts';
import { toBase64, toBase64Url, utf8 } from './encoding.ts';
import {
  decodeKek,
  encodeKek,
  generateKek,
  kb1Aad,
  kekId,
  parseKb1Ciphertext,
  unwrapValue,
  wrapValue,
  wrapValueWithNonce,
  type Kb1Context,
} from './kb1.ts';

const ctx: Kb1Context = { siteId: 'site-1', environment: 'production', keyId: 'a'.repeat(64) };
const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));

interface Kb1Vector {
  kek: string;
  kek_id: string;
  site_id: string;
  environment: 'development' | 'production';
  key_id: string;
  nonce_hex: string;
  plaintext_hex: string;
  aad_hex: string;
  ciphertext: string;
}
const vectors = (JSON.parse(readFileSync(new URL('./kb1.vectors.json', import.meta.url), 'utf8')) as { vectors: Kb1Vector[] }).vectors;

describe('kb1 format vectors (generated with PHP openssl_encrypt)', () => {
  it('reproduces and opens every vector', () => {
    expect(vectors.length).toBe(3);
    for (const v of vectors) {
      const kek = decodeKek(v.kek);
      const vctx: Kb1Context = { siteId: v.site_id, environment: v.environment, keyId: v.key_id };
      expect(encodeKek(kek)).toBe(v.kek);
      expect(kekId(kek)).toBe(v.kek_id);
      expect(Buffer.from(kb1Aad(vctx)).toString('hex')).toBe(v.aad_hex);
      expect(wrapValueWithNonce(kek, hex(v.nonce_hex), hex(v.plaintext_hex), vctx)).toBe(v.ciphertext);
      expect(Buffer.from(unwrapValue(kek, v.ciphertext, vctx)).toString('hex')).toBe(v.plaintext_hex);
    }
  });

  it('PHP openssl_decrypt opens what wrapValue wrote', () => {
    const cases = [new Uint8Array(0), utf8('sk_live_ünïcode'), new Uint8Array(5000).map((_, i) => (i * 7) & 0xff)];
    const input = cases.map((plaintext) => {
      const kek = generateKek();
      return { kek: encodeKek(kek), ciphertext: wrapValue(kek, plaintext, ctx), aad: toBase64(kb1Aad(ctx)) };
    });
    const php = `
      $in = json_decode(stream_get_contents(STDIN), true); $out = [];
      foreach ($in as $c) {
        $kek = base64_decode(strtr(substr($c['kek'], 4), '-_', '+/'));
        $raw = base64_decode(strtr(substr($c['ciphertext'], 4), '-_', '+/'));
        $pt = openssl_decrypt(substr($raw, 12, -16), 'aes-256-gcm', $kek, OPENSSL_RAW_DATA,
          substr($raw, 0, 12), substr($raw, -16), base64_decode($c['aad']));
        $out[] = $pt === false ? null : base64_encode($pt);
      }
      echo json_encode($out);`;
    const opened = JSON.parse(execFileSync('php', ['-r', php], { input: JSON.stringify(input) }).toString()) as string[];
    expect(opened).toEqual(cases.map((c) => toBase64(c)));
  });
});

describe('kb1 wrap', () => {
  it('round-trips empty, text and binary values', () => {
    const kek = generateKek();
    for (const value of [new Uint8Array(0), utf8('secret'), new Uint8Array(70_000).fill(0xff)]) {
      const ciphertext = wrapValue(kek, value, ctx);
      expect(ciphertext.startsWith('kb1.')).toBe(true);
      expect(unwrapValue(kek, ciphertext, ctx)).toEqual(value);
    }
  });

  it('uses a fresh nonce each time', () => {
    const kek = generateKek();
    const a = wrapValue(kek, utf8('x'), ctx);
    const b = wrapValue(kek, utf8('x'), ctx);
    expect(a).not.toBe(b);
    expect(parseKb1Ciphertext(a).nonce).not.toEqual(parseKb1Ciphertext(b).nonce);
  });

  it('binds site, environment and key id (AAD)', () => {
    const kek = generateKek();
    const ciphertext = wrapValue(kek, utf8('bound'), ctx);
    const others: Kb1Context[] = [
      { ...ctx, siteId: 'site-2' },
      { ...ctx, environment: 'development' },
      { ...ctx, keyId: 'b'.repeat(64) },
      { ...ctx, siteId: 'site-1\u0001' },
    ];
    for (const other of others) expect(errorType(() => unwrapValue(kek, ciphertext, other))).toBe('ciphertext-invalid');
  });

  it('decodes a KEK string exactly when it is the canonical base64url of 32 bytes', () => {
    // The pattern in decodeKek against the slow check (decode, re-encode, compare) on
    // every one-character change of real KEK strings, and on shorter and longer ones.
    const slow = (text: string): Uint8Array | null => {
      if (!text.startsWith('kb1$') || !/^[A-Za-z0-9_-]*$/.test(text.slice(4)) || text.length % 4 === 1) return null;
      const bytes = Buffer.from(text.slice(4), 'base64url');
      return bytes.toString('base64url') === text.slice(4) && bytes.length === 32 ? new Uint8Array(bytes) : null;
    };
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+/=. \u00e9\u0000';
    let checked = 0;
    for (let round = 0; round < 20; round++) {
      const good = encodeKek(generateKek());
      const variants = [good, good.slice(0, -1), `${good}A`, good.replace('kb1$', 'kb2$'), good.slice(1)];
      for (let at = 0; at < good.length; at++) {
        for (const char of alphabet) variants.push(good.slice(0, at) + char + good.slice(at + 1));
      }
      for (const variant of variants) {
        const expected = slow(variant);
        let got: Uint8Array | null = null;
        try {
          got = decodeKek(variant);
        } catch (error) {
          expect((error as KeybridgeError).type, variant).toBe('invalid-wrapping-key');
        }
        expect(got === null ? null : Buffer.from(got).toString('hex'), variant).toBe(
          expected === null ? null : Buffer.from(expected).toString('hex'),
        );
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(50_000);
  });

  it('fails with a wrong KEK, and the KEK id tells the KEKs apart', () => {
    const kek = generateKek();
    const wrong = generateKek();
    const ciphertext = wrapValue(kek, utf8('v'), ctx);
    expect(errorType(() => unwrapValue(wrong, ciphertext, ctx))).toBe('ciphertext-invalid');
    expect(kekId(kek)).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(kekId(kek)).not.toBe(kekId(wrong));
    expect(kekId(kek)).toBe(kekId(decodeKek(encodeKek(kek))));
  });

  it('rejects every truncation (0..40 characters and every prefix) with ciphertext-invalid', () => {
    const kek = generateKek();
    const ciphertext = wrapValue(kek, utf8('a value of some length'), ctx);
    for (let n = 0; n < ciphertext.length; n++) {
      expect(
        errorType(() => unwrapValue(kek, ciphertext.slice(0, n), ctx)),
        `length ${n}`,
      ).toBe('ciphertext-invalid');
    }
  });

  it('rejects every single bit flip with ciphertext-invalid', () => {
    const kek = generateKek();
    const ciphertext = wrapValue(kek, utf8('flip me'), ctx);
    const raw = Buffer.from(ciphertext.slice(4), 'base64url');
    for (let bit = 0; bit < raw.length * 8; bit++) {
      const flipped = Buffer.from(raw);
      flipped[bit >> 3] ^= 1 << (bit & 7);
      const tampered = 'kb1.' + toBase64Url(flipped);
      expect(
        errorType(() => unwrapValue(kek, tampered, ctx)),
        `bit ${bit}`,
      ).toBe('ciphertext-invalid');
    }
  });

  it('rejects malformed ciphertext strings', () => {
    const kek = generateKek();
    const good = wrapValue(kek, utf8('v'), ctx);
    const bad = ['kb2.' + good.slice(4), 'KB1.' + good.slice(4), good.slice(4), good + '=', good.replace('kb1.', 'kb1.+'), good + ' ', ''];
    for (const s of bad)
      expect(
        errorType(() => unwrapValue(kek, s, ctx)),
        s,
      ).toBe('ciphertext-invalid');
    expect(errorType(() => unwrapValue(kek, 42 as unknown as string, ctx))).toBe('ciphertext-invalid');
  });

  it('refuses a bad context with invalid-field', () => {
    const kek = generateKek();
    const bad = [
      { ...ctx, siteId: '' },
      { ...ctx, keyId: '' },
      { ...ctx, siteId: 'a\u0000b' },
      { ...ctx, keyId: 'k\u0000' },
      { ...ctx, environment: 'staging' as never },
    ];
    for (const c of bad) {
      expect(errorType(() => wrapValue(kek, utf8('v'), c))).toBe('invalid-field');
      expect(errorType(() => kb1Aad(c))).toBe('invalid-field');
    }
  });
});

describe('kb1 KEK strings', () => {
  it('encodes as kb1$ + 43 base64url characters and decodes back', () => {
    const kek = generateKek();
    const s = encodeKek(kek);
    expect(s).toMatch(/^kb1\$[A-Za-z0-9_-]{43}$/);
    expect(decodeKek(s)).toEqual(kek);
  });

  it('rejects other lengths, prefixes and alphabets with invalid-wrapping-key', () => {
    const b64u = (n: number) => toBase64Url(new Uint8Array(n).fill(7));
    const bad = [
      'kb1$' + b64u(31),
      'kb1$' + b64u(33),
      'kb1$' + b64u(0),
      'kb1$' + b64u(64),
      'kb2$' + b64u(32),
      'kb1.' + b64u(32),
      '$2$' + toBase64(new Uint8Array(32)),
      'kb1$' + toBase64(new Uint8Array(32).fill(0xfb)), // standard alphabet (+ /) and padding
      'kb1$' + b64u(32) + '=',
      'kb1$' + b64u(32).slice(0, 42) + '!',
      'kb1$' + b64u(32).slice(0, 42) + 'B', // non-canonical trailing bits
      ' kb1$' + b64u(32),
      '',
    ];
    for (const s of bad)
      expect(
        errorType(() => decodeKek(s)),
        s,
      ).toBe('invalid-wrapping-key');
    expect(errorType(() => decodeKek(undefined as unknown as string))).toBe('invalid-wrapping-key');
    expect(errorType(() => encodeKek(new Uint8Array(16)))).toBe('invalid-wrapping-key');
  });

  it('never puts the key string in an error message', () => {
    const secret = 'kb1$' + toBase64Url(new Uint8Array(31).fill(0x5a));
    try {
      decodeKek(secret);
      throw new Error('expected a rejection');
    } catch (error) {
      expect((error as Error).message).not.toContain(secret.slice(4));
      expect(JSON.stringify((error as KeybridgeError).toProblem())).not.toContain(secret.slice(4));
    }
  });
});
