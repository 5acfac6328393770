/** Fresh random bytes from the operating system's CSPRNG (node:crypto). */
import { randomBytes } from 'node:crypto';
import { KeybridgeError } from '../errors.ts';

/** `bytes` random bytes (default 32: an AES-256 key). */
export function randomKey(bytes = 32): Uint8Array {
  if (!Number.isSafeInteger(bytes) || bytes < 1 || bytes > 65536) {
    throw new KeybridgeError('invalid-field', 'random length must be 1..65536 bytes');
  }
  const buf = randomBytes(bytes);
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}
