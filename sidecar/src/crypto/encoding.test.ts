import { describe, expect, it } from 'vitest';
import { errorType } from '../../test-helpers/errors.ts';
import { concatBytes, fromBase64, fromBase64Url, fromUtf8, toBase64, toBase64Url, utf8 } from './encoding.ts';

describe('encoding', () => {
  it('round-trips base64url and base64 for every length 0..64', () => {
    for (let n = 0; n <= 64; n++) {
      const bytes = new Uint8Array(n).map((_, i) => (i * 37 + 251) & 0xff);
      expect(fromBase64Url(toBase64Url(bytes))).toEqual(bytes);
      expect(fromBase64(toBase64(bytes))).toEqual(bytes);
      expect(toBase64Url(bytes)).not.toMatch(/=/);
    }
    expect(toBase64Url(new Uint8Array([0xfb, 0xff]))).toBe('-_8');
    expect(toBase64(new Uint8Array([0xfb, 0xff]))).toBe('+/8=');
  });

  it('returns plain Uint8Arrays, never views into a shared pool', () => {
    const out = fromBase64('AAEC');
    expect(out.constructor).toBe(Uint8Array);
    expect(out.byteOffset).toBe(0);
    expect(out.buffer.byteLength).toBe(3);
  });

  it('is strict about base64url', () => {
    for (const bad of ['A', 'AAAAA', '-_8=', '+/8', 'AA==', 'AB', 'AA A', 'AA\n']) {
      expect(
        errorType(() => fromBase64Url(bad)),
        bad,
      ).toBe('invalid-field');
    }
    expect(fromBase64Url('')).toEqual(new Uint8Array(0));
  });

  it('is strict about standard base64', () => {
    for (const bad of ['A', 'AA', 'AAA', 'AA=', '-_8=', 'AB==', 'AAA=AAAA', ' AAAA', 'AAAA\n', 'AA=='.repeat(2)]) {
      expect(
        errorType(() => fromBase64(bad)),
        bad,
      ).toBe('invalid-field');
    }
    expect(fromBase64('AA==')).toEqual(new Uint8Array([0]));
  });

  it('encodes and strictly decodes UTF-8', () => {
    expect(fromUtf8(utf8('Ünï 🔑'))).toBe('Ünï 🔑');
    expect(errorType(() => fromUtf8(new Uint8Array([0xc3])))).toBe('invalid-field');
    expect(errorType(() => fromUtf8(new Uint8Array([0xff, 0xfe])))).toBe('invalid-field');
  });

  it('concatenates', () => {
    expect(concatBytes()).toEqual(new Uint8Array(0));
    expect(concatBytes(new Uint8Array([1]), new Uint8Array(0), new Uint8Array([2, 3]))).toEqual(new Uint8Array([1, 2, 3]));
  });
});
