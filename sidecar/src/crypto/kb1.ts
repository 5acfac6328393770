/**
 * kb1 — keybridge's native value wrap. Fixed byte formats (the PHP shims reimplement them
 * with openssl_decrypt; `kb1.vectors.json` pins them for both languages):
 *
 *   KEK            32 random bytes.
 *   KEK string     "kb1$" ‖ base64url(KEK)              base64url = RFC 4648 §5, no padding
 *                  (always 4 + 43 = 47 characters).
 *   KEK id         base64url(HMAC-SHA256(KEK, "keybridge kek-id v1")[0..16))   (22 characters)
 *                  A public fingerprint: tells "wrong KEK" apart from "tampered ciphertext".
 *   AAD            "kb1" 0x00 siteId 0x00 environment 0x00 keyId           (all UTF-8)
 *                  environment is "development" or "production"; siteId and keyId are
 *                  non-empty and contain no NUL byte, so the encoding is unambiguous.
 *   ciphertext     "kb1." ‖ base64url(nonce ‖ ct ‖ tag)
 *                  AES-256-GCM(key = KEK, nonce = 12 fresh random bytes, AAD above),
 *                  tag = 16 bytes; so at least 28 bytes (38 characters) after "kb1.".
 *
 * PHP: $raw = base64_decode(strtr(substr($c, 4), '-_', '+/'));
 *      openssl_decrypt(substr($raw, 12, -16), 'aes-256-gcm', $kek, OPENSSL_RAW_DATA,
 *                      substr($raw, 0, 12), substr($raw, -16), $aad);
 */
import { KeybridgeError } from '../errors.ts';
import type { Environment } from './environment.ts';
import { aesGcmDecrypt, aesGcmEncrypt, GCM_NONCE_BYTES, SEALED_MIN_BYTES } from './aead.ts';
import { concatBytes, fromBase64Url, toBase64Url, utf8 } from './encoding.ts';
import { hmacSha256 } from './kdf.ts';
import { randomKey } from './random.ts';

export const KEK_BYTES = 32;
export const KEK_PREFIX = 'kb1$';
export const CIPHERTEXT_PREFIX = 'kb1.';
const KEK_ID_INFO = 'keybridge kek-id v1';

export interface Kb1Context {
  siteId: string;
  environment: Environment;
  keyId: string;
}

/** A fresh 256-bit KEK. */
export function generateKek(): Uint8Array {
  return randomKey(KEK_BYTES);
}

function checkKek(kek: Uint8Array): void {
  if (!(kek instanceof Uint8Array) || kek.length !== KEK_BYTES) {
    throw new KeybridgeError('invalid-wrapping-key', 'a kb1 wrapping key is 32 bytes');
  }
}

export function encodeKek(kek: Uint8Array): string {
  checkKek(kek);
  return KEK_PREFIX + toBase64Url(kek);
}

/** Parse a KEK string; anything but `kb1$` + canonical base64url of 32 bytes is refused. */
/**
 * A well-formed KEK string: the prefix and 43 base64url characters whose last one carries
 * 4 data bits and 2 zero bits (values 0, 4, …, 60), which is exactly the canonical
 * base64url of 32 bytes. Checked with one pattern on every read (decoding and re-encoding
 * to compare was ~3 µs of each keys/get); anything else takes the path that says what is wrong.
 */
const CANONICAL_KEK = /^kb1\$[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/;

export function decodeKek(s: string): Uint8Array {
  if (typeof s === 'string' && CANONICAL_KEK.test(s)) {
    const bytes = new Uint8Array(KEK_BYTES);
    bytes.set(Buffer.from(s.slice(KEK_PREFIX.length), 'base64url'));
    return bytes;
  }
  if (typeof s !== 'string' || !s.startsWith(KEK_PREFIX)) {
    throw new KeybridgeError('invalid-wrapping-key', 'expected a string starting with "kb1$"');
  }
  let kek: Uint8Array;
  try {
    kek = fromBase64Url(s.slice(KEK_PREFIX.length));
  } catch {
    throw new KeybridgeError('invalid-wrapping-key', 'the key after "kb1$" is not base64url');
  }
  if (kek.length !== KEK_BYTES) {
    throw new KeybridgeError('invalid-wrapping-key', 'the key after "kb1$" is not 32 bytes');
  }
  return kek;
}

/** Public fingerprint of a KEK (22 characters). */
export function kekId(kek: Uint8Array): string {
  checkKek(kek);
  return toBase64Url(hmacSha256(kek, utf8(KEK_ID_INFO)).subarray(0, 16));
}

function checkPart(value: unknown, field: 'siteId' | 'keyId'): string {
  if (typeof value !== 'string' || value.length === 0 || value.includes('\u0000')) {
    throw new KeybridgeError('invalid-field', `${field} must be a non-empty string without NUL`, { field });
  }
  return value;
}

/** "kb1" 0x00 siteId 0x00 environment 0x00 keyId. */
export function kb1Aad(ctx: Kb1Context): Uint8Array {
  const siteId = checkPart(ctx?.siteId, 'siteId');
  const keyId = checkPart(ctx.keyId, 'keyId');
  if (ctx.environment !== 'development' && ctx.environment !== 'production') {
    throw new KeybridgeError('invalid-field', 'environment must be development or production', {
      field: 'environment',
    });
  }
  const nul = new Uint8Array([0]);
  return concatBytes(utf8('kb1'), nul, utf8(siteId), nul, utf8(ctx.environment), nul, utf8(keyId));
}

/** Wrap a value under a KEK with a fresh random nonce. */
export function wrapValue(kek: Uint8Array, plaintext: Uint8Array, ctx: Kb1Context): string {
  return wrapValueWithNonce(kek, randomKey(GCM_NONCE_BYTES), plaintext, ctx);
}

/**
 * FOR TESTS ONLY (format vectors): `wrapValue` with a caller-chosen nonce. Reusing a nonce
 * under one KEK breaks AES-GCM; production code must call `wrapValue`. Not re-exported
 * from index.ts.
 */
export function wrapValueWithNonce(kek: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, ctx: Kb1Context): string {
  checkKek(kek);
  if (!(nonce instanceof Uint8Array) || nonce.length !== GCM_NONCE_BYTES) {
    throw new KeybridgeError('invalid-field', 'a kb1 nonce is 12 bytes');
  }
  if (!(plaintext instanceof Uint8Array)) throw new KeybridgeError('invalid-field', 'the value must be bytes');
  const sealed = aesGcmEncrypt(kek, nonce, plaintext, kb1Aad(ctx));
  return CIPHERTEXT_PREFIX + toBase64Url(concatBytes(nonce, sealed));
}

/** Split a kb1 ciphertext string into nonce and ct ‖ tag; `ciphertext-invalid` if malformed. */
export function parseKb1Ciphertext(s: string): { nonce: Uint8Array; sealed: Uint8Array } {
  if (typeof s !== 'string' || !s.startsWith(CIPHERTEXT_PREFIX)) {
    throw new KeybridgeError('ciphertext-invalid', 'not a kb1 ciphertext');
  }
  let raw: Uint8Array;
  try {
    raw = fromBase64Url(s.slice(CIPHERTEXT_PREFIX.length));
  } catch {
    throw new KeybridgeError('ciphertext-invalid', 'the kb1 ciphertext is not base64url');
  }
  if (raw.length < SEALED_MIN_BYTES) throw new KeybridgeError('ciphertext-invalid', 'the kb1 ciphertext is truncated');
  return { nonce: raw.subarray(0, GCM_NONCE_BYTES), sealed: raw.subarray(GCM_NONCE_BYTES) };
}

/** Open a kb1 ciphertext; wrong KEK, other context or tampering: `ciphertext-invalid`. */
export function unwrapValue(kek: Uint8Array, ciphertext: string, ctx: Kb1Context): Uint8Array {
  checkKek(kek);
  const aad = kb1Aad(ctx);
  const { nonce, sealed } = parseKb1Ciphertext(ciphertext);
  return aesGcmDecrypt(kek, nonce, sealed, aad);
}
