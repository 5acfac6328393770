/**
 * keybridge's cryptography: the only module that touches ciphers. Pure functions, no state;
 * imports only errors.ts. Formats are documented at the top of
 * each file; BUNDLE.md shows how to open an export bundle without keybridge.
 */
export { aesGcmDecrypt, aesGcmEncrypt, openBytes, sealBytes } from './aead.ts';
export { concatBytes, fromBase64, fromBase64Url, fromUtf8, toBase64, toBase64Url, utf8 } from './encoding.ts';
export { constantTimeEqual, hkdfSha256, hmacSha256, pbkdf2Sha256 } from './kdf.ts';
export { aesKwpUnwrap, aesKwpWrap, aesKwUnwrap, aesKwWrap } from './keywrap.ts';
export { randomKey } from './random.ts';
export { decodeKek, encodeKek, generateKek, kb1Aad, kekId, parseKb1Ciphertext, unwrapValue, wrapValue, type Kb1Context } from './kb1.ts';
export { nameKey, opaqueKeyId, openText, sealText, type SealPurpose } from './ids.ts';
export {
  createBundle,
  MIN_BUNDLE_ITERATIONS,
  openBundle,
  type BundleEntry,
  type BundleInput,
  type ExportBundle,
  type ExportBundleItem,
} from './bundle.ts';
export { lockrFormat, unwrapLockr, type LockrFormat } from './lockr.ts';
export {
  hashPassword,
  passwordNeedsRehash,
  PASSWORD_MAX_LENGTH,
  PASSWORD_MIN_LENGTH,
  verifyPassword,
  type ScryptRunner,
} from './password.ts';
