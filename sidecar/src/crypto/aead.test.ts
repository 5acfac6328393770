import { describe, expect, it } from 'vitest';
import { errorType } from '../../test-helpers/errors.ts';
import { aesGcmDecrypt, aesGcmEncrypt, openBytes, sealBytes } from './aead.ts';
import { utf8 } from './encoding.ts';
import { randomKey } from './random.ts';

describe('AES-GCM helpers', () => {
  it('seals as nonce(12) ‖ ct ‖ tag(16) and opens', () => {
    const key = randomKey();
    const aad = utf8('context');
    const sealed = sealBytes(key, utf8('hello'), aad);
    expect(sealed.length).toBe(12 + 5 + 16);
    expect(openBytes(key, sealed, aad)).toEqual(utf8('hello'));
    expect(aesGcmDecrypt(key, sealed.subarray(0, 12), sealed.subarray(12), aad)).toEqual(utf8('hello'));
    expect(openBytes(key, sealBytes(key, new Uint8Array(0)))).toEqual(new Uint8Array(0));
  });

  it('rejects short, tampered, wrong-key and wrong-AAD input with ciphertext-invalid', () => {
    const key = randomKey();
    const sealed = sealBytes(key, utf8('hello'), utf8('a'));
    for (let n = 0; n < sealed.length; n++) {
      expect(errorType(() => openBytes(key, sealed.subarray(0, n), utf8('a')))).toBe('ciphertext-invalid');
    }
    const flipped = sealed.slice();
    flipped[20] ^= 0x80;
    expect(errorType(() => openBytes(key, flipped, utf8('a')))).toBe('ciphertext-invalid');
    expect(errorType(() => openBytes(key, sealed, utf8('b')))).toBe('ciphertext-invalid');
    expect(errorType(() => openBytes(key, sealed))).toBe('ciphertext-invalid');
    expect(errorType(() => openBytes(randomKey(), sealed, utf8('a')))).toBe('ciphertext-invalid');
  });

  it('refuses bad keys and nonces', () => {
    expect(errorType(() => aesGcmEncrypt(new Uint8Array(31), new Uint8Array(12), utf8('x')))).toBe('invalid-field');
    expect(errorType(() => aesGcmEncrypt(randomKey(), new Uint8Array(0), utf8('x')))).toBe('invalid-field');
    expect(errorType(() => aesGcmDecrypt(randomKey(), new Uint8Array(0), new Uint8Array(16)))).toBe('ciphertext-invalid');
  });
});
