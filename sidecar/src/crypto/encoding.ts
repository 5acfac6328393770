/**
 * Byte/text encodings used by every keybridge format. All decoders are strict: they accept
 * exactly the canonical output of the matching encoder (right alphabet, right padding, zero
 * trailing bits), so one value has one spelling. Failures throw `invalid-field`; callers
 * that parse a ciphertext re-throw with their own type (e.g. `ciphertext-invalid`).
 *
 * Error messages never echo the input: it may be key material.
 */
import { KeybridgeError } from '../errors.ts';

const BASE64URL = /^[A-Za-z0-9_-]*$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** A copy of a Buffer's bytes as a plain Uint8Array (no shared pool memory). */
function plain(buf: Uint8Array): Uint8Array {
  const out = new Uint8Array(buf.length);
  out.set(buf);
  return out;
}

/** base64url without padding (RFC 4648 §5). */
export function toBase64Url(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
}

/** Strict base64url: alphabet `A–Z a–z 0–9 - _`, no padding, canonical trailing bits. */
export function fromBase64Url(s: string): Uint8Array {
  if (typeof s !== 'string' || !BASE64URL.test(s) || s.length % 4 === 1) {
    throw new KeybridgeError('invalid-field', 'not valid base64url');
  }
  const buf = Buffer.from(s, 'base64url');
  if (buf.toString('base64url') !== s) throw new KeybridgeError('invalid-field', 'not canonical base64url');
  return plain(buf);
}

/** Standard base64 with padding (RFC 4648 §4). */
export function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/** Strict standard base64: alphabet `A–Z a–z 0–9 + /`, `=` padding required, canonical. */
export function fromBase64(s: string): Uint8Array {
  if (typeof s !== 'string' || !BASE64.test(s)) {
    throw new KeybridgeError('invalid-field', 'not valid base64');
  }
  const buf = Buffer.from(s, 'base64');
  if (buf.toString('base64') !== s) throw new KeybridgeError('invalid-field', 'not canonical base64');
  return plain(buf);
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** UTF-8 bytes of a string. */
export function utf8(s: string): Uint8Array {
  return encoder.encode(s);
}

/** Decode UTF-8, rejecting malformed input (`invalid-field`). */
export function fromUtf8(bytes: Uint8Array): string {
  try {
    return decoder.decode(bytes);
  } catch {
    throw new KeybridgeError('invalid-field', 'not valid UTF-8');
  }
}

/** Concatenate byte arrays into a new one. */
export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
