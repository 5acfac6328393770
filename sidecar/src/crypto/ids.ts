/**
 * What the key service sees instead of names: opaque key ids and sealed names/labels.
 *
 *   key id      lowercase hex HMAC-SHA256(site secret, environment 0x00 name)   (64 chars)
 *   name key    HKDF-SHA256(ikm = site secret, salt = empty, info = "keybridge-names-1", 32)
 *   sealed text base64url(nonce(12) ‖ ct ‖ tag(16)), AES-256-GCM under the name key with
 *               AAD "keybridge-" purpose "-1" 0x00 keyId   (purpose: "name" or "label"),
 *               so a sealed name cannot be moved to another record or used as a label.
 */
import { KeybridgeError } from '../errors.ts';
import type { Environment } from './environment.ts';
import { openBytes, sealBytes } from './aead.ts';
import { concatBytes, fromBase64Url, fromUtf8, toBase64Url, utf8 } from './encoding.ts';
import { hkdfSha256, hmacSha256 } from './kdf.ts';

export type SealPurpose = 'name' | 'label';

function checkSecret(siteSecret: Uint8Array): void {
  if (!(siteSecret instanceof Uint8Array) || siteSecret.length < 16) {
    throw new KeybridgeError('invalid-field', 'the site secret must be at least 16 bytes');
  }
}

function checkEnvironment(environment: string): void {
  if (environment !== 'development' && environment !== 'production') {
    throw new KeybridgeError('invalid-field', 'environment must be development or production', {
      field: 'environment',
    });
  }
}

export function opaqueKeyId(siteSecret: Uint8Array, environment: Environment, name: string): string {
  checkSecret(siteSecret);
  checkEnvironment(environment);
  if (typeof name !== 'string' || name.length === 0) {
    throw new KeybridgeError('invalid-field', 'the name must be a non-empty string', { field: 'name' });
  }
  const mac = hmacSha256(siteSecret, concatBytes(utf8(environment), new Uint8Array([0]), utf8(name)));
  return Buffer.from(mac).toString('hex');
}

export function nameKey(siteSecret: Uint8Array): Uint8Array {
  checkSecret(siteSecret);
  return hkdfSha256(siteSecret, new Uint8Array(0), utf8('keybridge-names-1'), 32);
}

function sealAad(purpose: SealPurpose, keyId: string): Uint8Array {
  if (purpose !== 'name' && purpose !== 'label') {
    throw new KeybridgeError('invalid-field', 'purpose must be name or label');
  }
  if (typeof keyId !== 'string' || keyId.length === 0) {
    throw new KeybridgeError('invalid-field', 'keyId must be a non-empty string', { field: 'keyId' });
  }
  return concatBytes(utf8(`keybridge-${purpose}-1`), new Uint8Array([0]), utf8(keyId));
}

function checkNameKey(key: Uint8Array): void {
  if (!(key instanceof Uint8Array) || key.length !== 32) {
    throw new KeybridgeError('invalid-field', 'the name key must be 32 bytes');
  }
}

export function sealText(key: Uint8Array, text: string, purpose: SealPurpose, keyId: string): string {
  checkNameKey(key);
  if (typeof text !== 'string') throw new KeybridgeError('invalid-field', `the ${purpose} must be a string`);
  return toBase64Url(sealBytes(key, utf8(text), sealAad(purpose, keyId)));
}

export function openText(key: Uint8Array, sealed: string, purpose: SealPurpose, keyId: string): string {
  checkNameKey(key);
  const aad = sealAad(purpose, keyId);
  let raw: Uint8Array;
  try {
    raw = fromBase64Url(sealed);
  } catch {
    throw new KeybridgeError('ciphertext-invalid', `the sealed ${purpose} is not base64url`);
  }
  const plain = openBytes(key, raw, aad);
  try {
    return fromUtf8(plain);
  } catch {
    throw new KeybridgeError('ciphertext-invalid', `the sealed ${purpose} is not UTF-8`);
  }
}
