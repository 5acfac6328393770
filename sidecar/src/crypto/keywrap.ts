/**
 * AES Key Wrap (RFC 3394, NIST SP 800-38F "KW") and AES Key Wrap with Padding (RFC 5649,
 * "KWP") from @noble/ciphers.
 *
 * KW wraps key data of 16 bytes or more in multiples of 8. RFC 3394's one-block special
 * case for 8-byte data is not supported (SP 800-38F forbids it; use KWP), so an 8-byte KW
 * wrap is refused and a 16-byte KW ciphertext never unwraps.
 */
import { aeskw, aeskwp } from '@noble/ciphers/aes.js';
import { KeybridgeError } from '../errors.ts';

function checkKek(kek: Uint8Array): void {
  if (!(kek instanceof Uint8Array) || (kek.length !== 16 && kek.length !== 24 && kek.length !== 32)) {
    throw new KeybridgeError('invalid-field', 'key-wrapping key must be 16, 24 or 32 bytes');
  }
}

export function aesKwWrap(kek: Uint8Array, keyData: Uint8Array): Uint8Array {
  checkKek(kek);
  if (keyData.length < 16 || keyData.length % 8 !== 0) {
    throw new KeybridgeError('invalid-field', 'AES-KW key data must be 16 or more bytes, a multiple of 8');
  }
  return aeskw(kek).encrypt(keyData);
}

export function aesKwUnwrap(kek: Uint8Array, wrapped: Uint8Array): Uint8Array {
  checkKek(kek);
  if (wrapped.length < 24 || wrapped.length % 8 !== 0) {
    throw new KeybridgeError('ciphertext-invalid', 'wrapped key has an invalid length');
  }
  try {
    return aeskw(kek).decrypt(wrapped);
  } catch (error) {
    throw new KeybridgeError('ciphertext-invalid', 'key unwrap failed', { cause: error });
  }
}

export function aesKwpWrap(kek: Uint8Array, keyData: Uint8Array): Uint8Array {
  checkKek(kek);
  if (keyData.length < 1) throw new KeybridgeError('invalid-field', 'AES-KWP key data must not be empty');
  return aeskwp(kek).encrypt(keyData);
}

export function aesKwpUnwrap(kek: Uint8Array, wrapped: Uint8Array): Uint8Array {
  checkKek(kek);
  if (wrapped.length < 16 || wrapped.length % 8 !== 0) {
    throw new KeybridgeError('ciphertext-invalid', 'wrapped key has an invalid length');
  }
  try {
    return aeskwp(kek).decrypt(wrapped);
  } catch (error) {
    throw new KeybridgeError('ciphertext-invalid', 'key unwrap failed', { cause: error });
  }
}
