import { describe, expect, it } from 'vitest';
import { errorType } from '../../test-helpers/errors.ts';
import { KeybridgeError } from '../errors.ts';
import { utf8 } from './encoding.ts';
import { constantTimeEqual, hkdfSha256, pbkdf2Sha256 } from './kdf.ts';
import { randomKey } from './random.ts';

describe('KDFs and comparison', () => {
  it('randomKey gives fresh bytes of the asked length', () => {
    expect(randomKey().length).toBe(32);
    expect(randomKey(12).length).toBe(12);
    expect(randomKey()).not.toEqual(randomKey());
    expect(errorType(() => randomKey(0))).toBe('invalid-field');
  });

  it('HKDF refuses lengths outside 1..8160', () => {
    expect(hkdfSha256(new Uint8Array(32), new Uint8Array(0), new Uint8Array(0), 8160).length).toBe(8160);
    expect(errorType(() => hkdfSha256(new Uint8Array(32), new Uint8Array(0), new Uint8Array(0), 8161))).toBe('invalid-field');
    expect(errorType(() => hkdfSha256(new Uint8Array(32), new Uint8Array(0), new Uint8Array(0), 0))).toBe('invalid-field');
  });

  it('PBKDF2-HMAC-SHA256 matches RFC 7914 §11 and runs off the event loop', async () => {
    const key = await pbkdf2Sha256(utf8('passwd'), utf8('salt'), 1, 64);
    expect(Buffer.from(key).toString('hex')).toBe(
      '55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783',
    );
    let ticked = false;
    const slow = pbkdf2Sha256(utf8('passwd'), utf8('salt'), 300_000, 32).then(() => ticked);
    setImmediate(() => (ticked = true));
    expect(await slow).toBe(true);
    await expect(pbkdf2Sha256(utf8('p'), utf8('s'), 0, 32)).rejects.toBeInstanceOf(KeybridgeError);
  });

  it('compares in constant time, different lengths are unequal', () => {
    expect(constantTimeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2]))).toBe(true);
    expect(constantTimeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 3]))).toBe(false);
    expect(constantTimeEqual(new Uint8Array([1]), new Uint8Array([1, 2]))).toBe(false);
    expect(constantTimeEqual(new Uint8Array(0), new Uint8Array(0))).toBe(true);
  });
});
