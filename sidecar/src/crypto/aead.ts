/**
 * AES-GCM (NIST SP 800-38D), 128-bit tags, from node:crypto (OpenSSL).
 *
 * Why node:crypto here and @noble/ciphers elsewhere: OpenSSL's GCM uses AES-NI and is
 * several times faster on the agent's hot read path, it is the same implementation PHP's
 * openssl_decrypt uses to open kb1 in-process, and it accepts every IV length the
 * standard allows (Wycheproof's 8–48-bit IV cases included), where @noble/ciphers refuses
 * IVs under 64 bits. OpenSSL in turn refuses IVs over 128 bytes, which the standard also
 * allows: those (never made by keybridge, only met in test vectors) go to @noble/ciphers,
 * so between two audited implementations every valid IV length works.
 */
import { createCipheriv, createDecipheriv, type CipherGCMTypes } from 'node:crypto';
import { gcm } from '@noble/ciphers/aes.js';
import { KeybridgeError } from '../errors.ts';
import { concatBytes } from './encoding.ts';
import { randomKey } from './random.ts';

export const GCM_NONCE_BYTES = 12;
export const GCM_TAG_BYTES = 16;
/** nonce(12) ‖ tag(16): the shortest sealed byte string (empty plaintext). */
export const SEALED_MIN_BYTES = GCM_NONCE_BYTES + GCM_TAG_BYTES;

/** OpenSSL's longest GCM IV. */
const OPENSSL_MAX_IV_BYTES = 128;

const ALGORITHMS: Record<number, CipherGCMTypes> = { 16: 'aes-128-gcm', 24: 'aes-192-gcm', 32: 'aes-256-gcm' };

function algorithmFor(key: Uint8Array): CipherGCMTypes {
  const algorithm = key instanceof Uint8Array ? ALGORITHMS[key.length] : undefined;
  if (!algorithm) throw new KeybridgeError('invalid-field', 'AES key must be 16, 24 or 32 bytes');
  return algorithm;
}

function hasNonce(nonce: Uint8Array): boolean {
  return nonce instanceof Uint8Array && nonce.length > 0;
}

/** AES-GCM encrypt; returns ciphertext ‖ tag(16). */
export function aesGcmEncrypt(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad?: Uint8Array): Uint8Array {
  const algorithm = algorithmFor(key);
  if (!hasNonce(nonce)) throw new KeybridgeError('invalid-field', 'AES-GCM nonce must not be empty');
  if (nonce.length > OPENSSL_MAX_IV_BYTES) return gcm(key, nonce, aad).encrypt(plaintext);
  const cipher = createCipheriv(algorithm, key, nonce, { authTagLength: GCM_TAG_BYTES });
  if (aad && aad.length > 0) cipher.setAAD(aad);
  const head = cipher.update(plaintext);
  const tail = cipher.final();
  return concatBytes(head, tail, cipher.getAuthTag());
}

/** AES-GCM decrypt of ciphertext ‖ tag(16); any failure is `ciphertext-invalid`. */
export function aesGcmDecrypt(key: Uint8Array, nonce: Uint8Array, ciphertextAndTag: Uint8Array, aad?: Uint8Array): Uint8Array {
  const algorithm = algorithmFor(key);
  if (!hasNonce(nonce)) throw new KeybridgeError('ciphertext-invalid', 'empty nonce');
  if (!(ciphertextAndTag instanceof Uint8Array) || ciphertextAndTag.length < GCM_TAG_BYTES) {
    throw new KeybridgeError('ciphertext-invalid', 'shorter than the authentication tag');
  }
  const split = ciphertextAndTag.length - GCM_TAG_BYTES;
  try {
    if (nonce.length > OPENSSL_MAX_IV_BYTES) return gcm(key, nonce, aad).decrypt(ciphertextAndTag);
    const decipher = createDecipheriv(algorithm, key, nonce, { authTagLength: GCM_TAG_BYTES });
    decipher.setAuthTag(ciphertextAndTag.subarray(split));
    if (aad && aad.length > 0) decipher.setAAD(aad);
    const head = decipher.update(ciphertextAndTag.subarray(0, split));
    return concatBytes(head, decipher.final());
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
