/**
 * Certificate serial numbers. One canonical text form everywhere (storage, revocation lists,
 * production requests, logs): lowercase hex, no leading zeros. node:crypto prints serials in
 * uppercase and sometimes with a leading `0`; forge wants the DER INTEGER bytes; both go through
 * here so the same serial never compares unequal to itself.
 */
import { randomBytes } from 'node:crypto';

/** RFC 5280 §4.1.2.2: serials are positive and at most 20 octets. */
const MAX_SERIAL_BYTES = 20;

/**
 * The canonical form of a hex serial (either case, leading zeros allowed, optional `:`
 * separators as OpenSSL prints them). Throws a plain Error for anything else, zero included.
 */
export function normalizeSerialHex(hex: string): string {
  if (typeof hex !== 'string') throw new Error('the serial is not a string');
  const bare = hex.replace(/:/g, '').toLowerCase();
  if (!/^[0-9a-f]{1,42}$/.test(bare)) throw new Error('the serial is not hexadecimal');
  const trimmed = bare.replace(/^0+/, '');
  if (trimmed === '') throw new Error('the serial is zero');
  if (derSerialHex(trimmed).length > MAX_SERIAL_BYTES * 2) throw new Error('the serial is longer than 20 bytes');
  return trimmed;
}

/**
 * The DER INTEGER content of a canonical serial, as forge's `cert.serialNumber` wants it:
 * whole bytes, and a `00` in front when the top bit is set, or the number would read negative.
 */
export function derSerialHex(canonical: string): string {
  const even = canonical.length % 2 === 1 ? `0${canonical}` : canonical;
  return Number.parseInt(even.slice(0, 2), 16) >= 0x80 ? `00${even}` : even;
}

/**
 * A fresh serial: 16 random bytes (128 bits, far above the CA/Browser Forum's 64) with the top
 * bit cleared so the INTEGER is positive. Unpredictable serials also keep a CA from being
 * steered into signing a chosen prefix (the MD5 collision attacks of 2008).
 */
export function randomSerialHex(): string {
  const bytes = randomBytes(16);
  bytes[0] = bytes[0]! & 0x7f;
  return normalizeSerialHex(bytes.toString('hex'));
}
