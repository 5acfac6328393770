/**
 * AES-GCM (NIST SP 800-38D) from @noble/ciphers, 128-bit tags.
 *
 * Nonces: 12 bytes is what keybridge uses everywhere. Other lengths work as the standard
 * says (GHASH-derived J0), except that @noble/ciphers refuses nonces shorter than 8 bytes
 * (as OpenSSL-compatible libraries do); such calls fail like any other bad input.
 */
import { gcm } from '@noble/ciphers/aes.js';
import { KeybridgeError } from '../errors.ts';
import { concatBytes } from './encoding.ts';
import { randomKey } from './random.ts';

export const GCM_NONCE_BYTES = 12;
export const GCM_TAG_BYTES = 16;
/** nonce(12) ‖ tag(16): the shortest sealed byte string (empty plaintext). */
export const SEALED_MIN_BYTES = GCM_NONCE_BYTES + GCM_TAG_BYTES;

function validKeyLength(key: Uint8Array): boolean {
  return key instanceof Uint8Array && (key.length === 16 || key.length === 24 || key.length === 32);
}

/** AES-GCM encrypt; returns ciphertext ‖ tag(16). */
export function aesGcmEncrypt(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad?: Uint8Array): Uint8Array {
  if (!validKeyLength(key)) throw new KeybridgeError('invalid-field', 'AES key must be 16, 24 or 32 bytes');
  if (!(nonce instanceof Uint8Array) || nonce.length < 8) {
    throw new KeybridgeError('invalid-field', 'AES-GCM nonce must be at least 8 bytes');
  }
  return gcm(key, nonce, aad).encrypt(plaintext);
}

/** AES-GCM decrypt of ciphertext ‖ tag(16); any failure is `ciphertext-invalid`. */
export function aesGcmDecrypt(
  key: Uint8Array,
  nonce: Uint8Array,
  ciphertextAndTag: Uint8Array,
  aad?: Uint8Array,
): Uint8Array {
  if (!validKeyLength(key)) throw new KeybridgeError('invalid-field', 'AES key must be 16, 24 or 32 bytes');
  if (!(ciphertextAndTag instanceof Uint8Array) || ciphertextAndTag.length < GCM_TAG_BYTES) {
    throw new KeybridgeError('ciphertext-invalid', 'shorter than the authentication tag');
  }
  try {
    return gcm(key, nonce, aad).decrypt(ciphertextAndTag);
  } catch (error) {
    throw new KeybridgeError('ciphertext-invalid', 'authentication failed', { cause: error });
  }
}

/** nonce(12, fresh random) ‖ ciphertext ‖ tag(16). */
export function sealBytes(key: Uint8Array, plaintext: Uint8Array, aad?: Uint8Array): Uint8Array {
  const nonce = randomKey(GCM_NONCE_BYTES);
  return concatBytes(nonce, aesGcmEncrypt(key, nonce, plaintext, aad));
}

/** Inverse of `sealBytes`. */
export function openBytes(key: Uint8Array, sealed: Uint8Array, aad?: Uint8Array): Uint8Array {
  if (!(sealed instanceof Uint8Array) || sealed.length < SEALED_MIN_BYTES) {
    throw new KeybridgeError('ciphertext-invalid', 'truncated');
  }
  return aesGcmDecrypt(key, sealed.subarray(0, GCM_NONCE_BYTES), sealed.subarray(GCM_NONCE_BYTES), aad);
}
