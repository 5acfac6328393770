/**
 * Lockr migration: open values wrapped by Lockr's PHP clients (lockr/lockr-php,
 * lockr/lockr-client), chosen by the wrapping key's prefix. Checked against Lockr's own
 * wrapper classes (src/KeyWrapper/*.php in both repositories).
 *
 *   "$2$" + b64(K), K 32 bytes (LockrAes256CbcSha256RawKeyWrapper, current default)
 *       SHA-512(K) = encKey(32) ‖ macKey(32); output iv(16) ‖ AES-256-CBC/PKCS#7 ct ‖ mac(32),
 *       mac = HMAC-SHA256(macKey, "$2$" ‖ "aes-256-cbc" ‖ iv ‖ ct).
 *   "$1$" + b64(K) (LockrAes256CbcSha256KeyWrapper): the same with "$1$" in the MAC and the
 *       output base64-encoded; lockr/lockr 1.0.0–1.0.5 wrote it raw. Lockr's decrypt falls
 *       back to the "$2$" wrapper on a MAC mismatch, so a "$2$" MAC is accepted too.
 *   "aes-128-ctr-sha256$" b64(key) "$" b64(iv) "$" b64(macKey) (LockrAes128CtrSha256KeyWrapper)
 *       output b64(HMAC-SHA256(macKey, ct)) (44 chars) ‖ b64(ct), AES-128-CTR with the
 *       key's first 16 bytes (older clients made 32-byte keys; PHP's openssl cuts them).
 *
 * Values come as Lockr's API returned them: the GraphQL API adds one base64 layer over the
 * wrapper output, the REST API did not. Every plausible layering is tried and the MAC
 * decides; the MAC is always verified (constant time) before anything is decrypted.
 * Anything else (the mcrypt "rijndael-256$cbc$…" keys, "raw-aes-128-ctr-sha256", …) is
 * "unsupported legacy format". Messages never include key material or plaintext.
 */
import { createHash } from 'node:crypto';
import { cbc, ctr } from '@noble/ciphers/aes.js';
import { KeybridgeError } from '../errors.ts';
import { concatBytes, fromBase64, utf8 } from './encoding.ts';
import { constantTimeEqual, hmacSha256 } from './kdf.ts';

export type LockrFormat = 'lockr-v2' | 'lockr-v1' | 'lockr-aes-128-ctr-sha256';

const CTR_PREFIX = 'aes-128-ctr-sha256$';
const CBC_METHOD = 'aes-256-cbc';
const IV_BYTES = 16;
const MAC_BYTES = 32;
const CTR_MAC_CHARS = 44;

function unsupported(): KeybridgeError {
  return new KeybridgeError('unsupported-legacy-format');
}

/** Which Lockr wrapper made this key string; `unsupported-legacy-format` for any other. */
export function lockrFormat(wrappingKey: string): LockrFormat {
  if (typeof wrappingKey !== 'string') throw unsupported();
  const key = wrappingKey.trim();
  if (key.startsWith('$2$')) return 'lockr-v2';
  if (key.startsWith('$1$')) return 'lockr-v1';
  if (key.startsWith(CTR_PREFIX)) return 'lockr-aes-128-ctr-sha256';
  throw unsupported();
}

function keyPart(b64: string): Uint8Array {
  try {
    return fromBase64(b64);
  } catch {
    throw new KeybridgeError('invalid-field', 'the Lockr wrapping key is not valid base64', { field: 'wrapping_key' });
  }
}

/** Latin-1 view of bytes (one char per byte), for the base64 text layers. */
function asText(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

/** The input and up to two base64 layers peeled off it: wrapper output ± API layer. */
function layers(ciphertext: string | Uint8Array): Uint8Array[] {
  let current: Uint8Array;
  if (typeof ciphertext === 'string') current = utf8(ciphertext.trim());
  else if (ciphertext instanceof Uint8Array) current = ciphertext;
  else throw new KeybridgeError('ciphertext-invalid', 'the Lockr ciphertext must be a string or bytes');
  const out = [current];
  for (let i = 0; i < 2; i++) {
    try {
      current = fromBase64(asText(current).trim());
    } catch {
      break;
    }
    out.push(current);
  }
  return out;
}

interface Candidate {
  mac: Uint8Array;
  expected: Uint8Array;
  decrypt: () => Uint8Array;
}

/** Pick the candidate whose MAC verifies; mismatch vs. malformed decides the error. */
function openFirstValid(candidates: Candidate[]): Uint8Array {
  if (candidates.length === 0) throw new KeybridgeError('ciphertext-invalid', 'the Lockr ciphertext is malformed or truncated');
  let match: Candidate | undefined;
  for (const candidate of candidates) {
    if (constantTimeEqual(candidate.mac, candidate.expected) && !match) match = candidate;
  }
  if (!match) throw new KeybridgeError('lockr-mac-mismatch');
  try {
    return match.decrypt();
  } catch (error) {
    throw new KeybridgeError('ciphertext-invalid', 'the Lockr ciphertext does not decrypt', { cause: error });
  }
}

function cbcCandidates(k: Uint8Array, macPrefixes: string[], inputs: Uint8Array[]): Candidate[] {
  const keyData = new Uint8Array(createHash('sha512').update(k).digest());
  const encKey = keyData.slice(0, 32);
  const macKey = keyData.slice(32);
  keyData.fill(0);
  const out: Candidate[] = [];
  for (const data of inputs) {
    // iv ‖ at least one PKCS#7 block ‖ mac
    if (data.length < IV_BYTES + 16 + MAC_BYTES || (data.length - IV_BYTES - MAC_BYTES) % 16 !== 0) continue;
    const iv = data.subarray(0, IV_BYTES);
    const ct = data.subarray(IV_BYTES, data.length - MAC_BYTES);
    const mac = data.subarray(data.length - MAC_BYTES);
    for (const prefix of macPrefixes) {
      out.push({
        mac,
        expected: hmacSha256(macKey, concatBytes(utf8(prefix + CBC_METHOD), iv, ct)),
        decrypt: () => cbc(encKey, iv).decrypt(ct),
      });
    }
  }
  return out;
}

const STRICT_B64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function ctrCandidates(key: Uint8Array, iv: Uint8Array, macKey: Uint8Array, inputs: Uint8Array[]): Candidate[] {
  const out: Candidate[] = [];
  for (const data of inputs) {
    const text = asText(data);
    if (text.length < CTR_MAC_CHARS) continue;
    const macText = text.slice(0, CTR_MAC_CHARS);
    const ctText = text.slice(CTR_MAC_CHARS);
    if (!STRICT_B64.test(macText) || !STRICT_B64.test(ctText)) continue;
    const mac = fromBase64(macText);
    if (mac.length !== MAC_BYTES) continue;
    const ct = fromBase64(ctText);
    out.push({
      mac,
      expected: hmacSha256(macKey, ct),
      decrypt: () => (ct.length === 0 ? new Uint8Array(0) : ctr(key, iv).decrypt(ct)),
    });
  }
  return out;
}

/**
 * Open a Lockr ciphertext under its wrapping key string (as the CMS stored it). The
 * ciphertext is what Lockr's API returned: bytes, or a string (text output, or base64).
 */
export function unwrapLockr(wrappingKey: string, ciphertext: string | Uint8Array): Uint8Array {
  const format = lockrFormat(wrappingKey);
  const key = wrappingKey.trim();
  const inputs = layers(ciphertext);
  if (format === 'lockr-v2' || format === 'lockr-v1') {
    const k = keyPart(key.slice(3));
    if (k.length !== 32) throw unsupported();
    const prefixes = format === 'lockr-v2' ? ['$2$'] : ['$1$', '$2$'];
    return openFirstValid(cbcCandidates(k, prefixes, inputs));
  }
  const parts = key.split('$');
  if (parts.length !== 4) throw unsupported();
  const encKey = keyPart(parts[1]);
  const iv = keyPart(parts[2]);
  const macKey = keyPart(parts[3]);
  if ((encKey.length !== 16 && encKey.length !== 32) || iv.length !== IV_BYTES || macKey.length === 0) {
    throw unsupported();
  }
  return openFirstValid(ctrCandidates(encKey.slice(0, 16), iv, macKey, inputs));
}
