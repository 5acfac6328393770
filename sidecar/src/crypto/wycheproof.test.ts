/**
 * Wycheproof vectors (../shared/vectors/wycheproof beside the checkout, or
 * $KEYBRIDGE_VECTORS_DIR). Every case of every file is checked; each test asserts that the
 * number of cases checked equals the file's numberOfTests.
 *
 * Documented choices:
 * - AES-GCM: every IV length the standard allows is accepted (node:crypto, see aead.ts);
 *   the empty IV is rejected, for encryption and decryption alike.
 * - AES-KW `acceptable` (RFC 3394 one-block wrap of 8-byte data): always rejected, both
 *   wrapping and unwrapping (SP 800-38F forbids it; use KWP).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { KeybridgeError } from '../errors.ts';
import { aesGcmDecrypt, aesGcmEncrypt } from './aead.ts';
import { constantTimeEqual, hkdfSha256, hmacSha256 } from './kdf.ts';
import { aesKwpUnwrap, aesKwpWrap, aesKwUnwrap, aesKwWrap } from './keywrap.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const vectorsDir = process.env.KEYBRIDGE_VECTORS_DIR ?? path.resolve(repoRoot, '..', 'shared', 'vectors', 'wycheproof');

interface TestCase {
  tcId: number;
  result: 'valid' | 'invalid' | 'acceptable';
  flags: string[];
  [field: string]: unknown;
}
interface TestFile {
  numberOfTests: number;
  testGroups: ({ tests: TestCase[] } & Record<string, unknown>)[];
}

function load(file: string): TestFile {
  return JSON.parse(readFileSync(path.join(vectorsDir, file), 'utf8')) as TestFile;
}

const hex = (s: unknown): Uint8Array => new Uint8Array(Buffer.from(s as string, 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** Run fn on each case; returns how many were checked. Failures name the tcId. */
function eachCase(data: TestFile, fn: (group: Record<string, unknown>, tc: TestCase) => void): number {
  let checked = 0;
  for (const group of data.testGroups) {
    for (const tc of group.tests) {
      try {
        fn(group, tc);
      } catch (error) {
        throw new Error(`tcId ${tc.tcId} (${tc.result}, ${tc.flags.join(',')}): ${(error as Error).message}`, { cause: error });
      }
      checked++;
    }
  }
  return checked;
}

function rejects(fn: () => unknown): void {
  let threw = false;
  try {
    fn();
  } catch (error) {
    threw = true;
    expect(error).toBeInstanceOf(KeybridgeError);
  }
  if (!threw) throw new Error('expected rejection, got a result');
}

describe('Wycheproof', () => {
  it('aes_gcm_test.json: every valid case round-trips exactly, every invalid case is rejected', () => {
    const data = load('aes_gcm_test.json');
    const checked = eachCase(data, (group, tc) => {
      expect(group.tagSize).toBe(128);
      const key = hex(tc.key);
      const iv = hex(tc.iv);
      const aad = hex(tc.aad);
      const sealed = new Uint8Array([...hex(tc.ct), ...hex(tc.tag)]);
      if (tc.result === 'valid') {
        expect(toHex(aesGcmEncrypt(key, iv, hex(tc.msg), aad))).toBe(toHex(sealed));
        expect(toHex(aesGcmDecrypt(key, iv, sealed, aad))).toBe(tc.msg);
      } else {
        expect(tc.result).toBe('invalid');
        rejects(() => aesGcmDecrypt(key, iv, sealed, aad));
        if (iv.length === 0) rejects(() => aesGcmEncrypt(key, iv, hex(tc.msg), aad));
      }
    });
    expect(checked).toBe(data.numberOfTests);
  });

  it('aes_wrap_test.json (AES-KW): valid exact, invalid and acceptable rejected', () => {
    const data = load('aes_wrap_test.json');
    let acceptable = 0;
    const checked = eachCase(data, (_group, tc) => {
      const key = hex(tc.key);
      const msg = hex(tc.msg);
      const ct = hex(tc.ct);
      if (tc.result === 'valid') {
        expect(toHex(aesKwWrap(key, msg))).toBe(tc.ct);
        expect(toHex(aesKwUnwrap(key, ct))).toBe(tc.msg);
        return;
      }
      if (tc.result === 'acceptable') acceptable++;
      rejects(() => aesKwUnwrap(key, ct));
      // A valid-looking message must not wrap to this (invalid or non-standard) ciphertext.
      try {
        expect(toHex(aesKwWrap(key, msg))).not.toBe(tc.ct);
      } catch (error) {
        if (!(error instanceof KeybridgeError)) throw error;
      }
    });
    expect(checked).toBe(data.numberOfTests);
    expect(acceptable).toBe(3);
  });

  it('aes_kwp_test.json (AES-KWP): valid exact, invalid rejected', () => {
    const data = load('aes_kwp_test.json');
    const checked = eachCase(data, (_group, tc) => {
      const key = hex(tc.key);
      if (tc.result === 'valid') {
        expect(toHex(aesKwpWrap(key, hex(tc.msg)))).toBe(tc.ct);
        expect(toHex(aesKwpUnwrap(key, hex(tc.ct)))).toBe(tc.msg);
      } else {
        expect(tc.result).toBe('invalid');
        rejects(() => aesKwpUnwrap(key, hex(tc.ct)));
      }
    });
    expect(checked).toBe(data.numberOfTests);
  });

  it('hmac_sha256_test.json: truncated tags compared in constant time', () => {
    const data = load('hmac_sha256_test.json');
    const checked = eachCase(data, (group, tc) => {
      const tagBytes = (group.tagSize as number) / 8;
      const expected = hex(tc.tag);
      const computed = hmacSha256(hex(tc.key), hex(tc.msg)).subarray(0, tagBytes);
      const ok = expected.length === tagBytes && constantTimeEqual(computed, expected);
      expect(ok).toBe(tc.result === 'valid');
    });
    expect(checked).toBe(data.numberOfTests);
  });

  it('hkdf_sha256_test.json: valid exact, too-large sizes throw', () => {
    const data = load('hkdf_sha256_test.json');
    const checked = eachCase(data, (_group, tc) => {
      const derive = () => hkdfSha256(hex(tc.ikm), hex(tc.salt), hex(tc.info), tc.size as number);
      if (tc.result === 'valid') expect(toHex(derive())).toBe(tc.okm);
      else rejects(derive);
    });
    expect(checked).toBe(data.numberOfTests);
  });
});
