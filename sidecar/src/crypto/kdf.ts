/**
 * HMAC-SHA256, HKDF-SHA256, PBKDF2-HMAC-SHA256 and a constant-time comparison, all from
 * node:crypto. Inputs are bytes; outputs are fresh Uint8Arrays.
 */
import { createHmac, hkdfSync, pbkdf2, timingSafeEqual } from 'node:crypto';
import { KeybridgeError } from '../errors.ts';

const SHA256_BYTES = 32;
/** RFC 5869: L ≤ 255·HashLen. */
export const HKDF_SHA256_MAX_LENGTH = 255 * SHA256_BYTES;

function copy(buf: Uint8Array): Uint8Array {
  const out = new Uint8Array(buf.length);
  out.set(buf);
  return out;
}

export function hmacSha256(key: Uint8Array, msg: Uint8Array): Uint8Array {
  return copy(createHmac('sha256', key).update(msg).digest());
}

/** HKDF-SHA256 (RFC 5869). An empty salt means HashLen zero bytes, as the RFC says. */
export function hkdfSha256(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  if (!Number.isSafeInteger(length) || length < 1 || length > HKDF_SHA256_MAX_LENGTH) {
    throw new KeybridgeError('invalid-field', `HKDF-SHA256 output length must be 1..${HKDF_SHA256_MAX_LENGTH} bytes`);
  }
  return new Uint8Array(hkdfSync('sha256', ikm, salt, info, length));
}

/** PBKDF2-HMAC-SHA256 on the libuv thread pool, so the event loop keeps serving. */
export function pbkdf2Sha256(passphrase: Uint8Array, salt: Uint8Array, iterations: number, length: number): Promise<Uint8Array> {
  if (!Number.isSafeInteger(iterations) || iterations < 1) {
    return Promise.reject(new KeybridgeError('invalid-field', 'PBKDF2 iterations must be a positive integer'));
  }
  if (!Number.isSafeInteger(length) || length < 1 || length > 1024) {
    return Promise.reject(new KeybridgeError('invalid-field', 'PBKDF2 output length must be 1..1024 bytes'));
  }
  return new Promise((resolve, reject) => {
    pbkdf2(passphrase, salt, iterations, length, 'sha256', (error, key) => {
      if (error) reject(new KeybridgeError('internal', undefined, { cause: error }));
      else resolve(new Uint8Array(key.buffer, key.byteOffset, key.byteLength));
    });
  });
}

/**
 * Constant-time equality of two byte strings. Lengths are public: different lengths
 * return false at once.
 */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  return timingSafeEqual(a, b);
}
