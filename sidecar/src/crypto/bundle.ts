/**
 * Export bundle "keybridge-export-1": every value of a site, encrypted under a passphrase,
 * openable without keybridge (see BUNDLE.md for Python and PHP). b64 = standard base64
 * with padding.
 *
 *   {"format": "keybridge-export-1",
 *    "kdf": {"name": "PBKDF2-HMAC-SHA256", "iterations": N, "salt": b64(16 random bytes)},
 *    "items": [{"name", "label", "environment", "nonce": b64(12 bytes), "ciphertext": b64(ct ‖ tag16)}]}
 *
 *   key   = HKDF-SHA256(ikm = PBKDF2-HMAC-SHA256(UTF-8 passphrase, salt, N, 32),
 *                       salt = empty, info = "keybridge-export-1", 32)
 *   item  = AES-256-GCM(key, nonce = 12 fresh random bytes, AAD = UTF-8 of the item's name)
 *
 * The passphrase is used byte for byte (UTF-8, no normalization, no trimming).
 * 600,000 ≤ N ≤ 10,000,000. Only the name is authenticated with each value.
 */
import { KeybridgeError } from '../errors.ts';
import type { Environment } from './environment.ts';
import { aesGcmDecrypt, aesGcmEncrypt, GCM_NONCE_BYTES, GCM_TAG_BYTES } from './aead.ts';
import { fromBase64, toBase64, utf8 } from './encoding.ts';
import { hkdfSha256, pbkdf2Sha256 } from './kdf.ts';
import { randomKey } from './random.ts';

export const BUNDLE_FORMAT = 'keybridge-export-1';
export const BUNDLE_KDF = 'PBKDF2-HMAC-SHA256';
export const MIN_BUNDLE_ITERATIONS = 600_000;
export const MAX_BUNDLE_ITERATIONS = 10_000_000;
const SALT_BYTES = 16;

export interface ExportBundleItem {
  name: string;
  label: string;
  environment: Environment;
  nonce: string;
  ciphertext: string;
}

export interface ExportBundle {
  format: typeof BUNDLE_FORMAT;
  kdf: { name: typeof BUNDLE_KDF; iterations: number; salt: string };
  items: ExportBundleItem[];
}

/** An opened item. */
export interface BundleEntry {
  name: string;
  label: string;
  environment: Environment;
  value: Uint8Array;
}

/** An item to export; `environment` is checked at run time. */
export interface BundleInput {
  name: string;
  label: string;
  environment: string;
  value: Uint8Array;
}

async function bundleKey(passphrase: string, salt: Uint8Array, iterations: number): Promise<Uint8Array> {
  const stretched = await pbkdf2Sha256(utf8(passphrase), salt, iterations, 32);
  const key = hkdfSha256(stretched, new Uint8Array(0), utf8(BUNDLE_FORMAT), 32);
  stretched.fill(0);
  return key;
}

function isEnvironment(value: unknown): value is Environment {
  return value === 'development' || value === 'production';
}

function checkPassphrase(passphrase: unknown, type: 'invalid-field' | 'bundle-decrypt-failed'): asserts passphrase is string {
  if (typeof passphrase !== 'string' || passphrase.length === 0) {
    throw new KeybridgeError(type, 'the passphrase must be a non-empty string', { field: 'passphrase' });
  }
}

export async function createBundle(
  passphrase: string,
  items: readonly BundleInput[],
  options: { iterations?: number } = {},
): Promise<ExportBundle> {
  checkPassphrase(passphrase, 'invalid-field');
  const iterations = options.iterations ?? MIN_BUNDLE_ITERATIONS;
  if (!Number.isSafeInteger(iterations) || iterations < MIN_BUNDLE_ITERATIONS || iterations > MAX_BUNDLE_ITERATIONS) {
    throw new KeybridgeError('invalid-field', `iterations must be an integer from ${MIN_BUNDLE_ITERATIONS} to ${MAX_BUNDLE_ITERATIONS}`, {
      field: 'iterations',
    });
  }
  if (!Array.isArray(items)) throw new KeybridgeError('invalid-field', 'items must be an array', { field: 'items' });
  const seen = new Set<string>();
  items.forEach((item, i) => {
    const at = `items[${i}]`;
    if (typeof item?.name !== 'string' || item.name.length === 0) {
      throw new KeybridgeError('invalid-field', `${at}.name must be a non-empty string`, { field: `${at}.name` });
    }
    if (typeof item.label !== 'string') {
      throw new KeybridgeError('invalid-field', `${at}.label must be a string`, { field: `${at}.label` });
    }
    if (!isEnvironment(item.environment)) {
      throw new KeybridgeError('invalid-field', `${at}.environment must be development or production`, {
        field: `${at}.environment`,
      });
    }
    if (!(item.value instanceof Uint8Array)) {
      throw new KeybridgeError('invalid-field', `${at}.value must be bytes`, { field: `${at}.value` });
    }
    const id = `${item.environment}\u0000${item.name}`;
    if (seen.has(id)) throw new KeybridgeError('invalid-field', `${at} repeats a name in its environment`, { field: at });
    seen.add(id);
  });

  const salt = randomKey(SALT_BYTES);
  const key = await bundleKey(passphrase, salt, iterations);
  try {
    return {
      format: BUNDLE_FORMAT,
      kdf: { name: BUNDLE_KDF, iterations, salt: toBase64(salt) },
      items: items.map((item) => {
        const nonce = randomKey(GCM_NONCE_BYTES);
        return {
          name: item.name,
          label: item.label,
          environment: item.environment as Environment,
          nonce: toBase64(nonce),
          ciphertext: toBase64(aesGcmEncrypt(key, nonce, item.value, utf8(item.name))),
        };
      }),
    };
  } finally {
    key.fill(0);
  }
}

function invalid(field: string, what: string): KeybridgeError {
  return new KeybridgeError('bundle-invalid', `${field} ${what}`, { field });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function b64Field(value: unknown, field: string): Uint8Array {
  if (typeof value !== 'string') throw invalid(field, 'must be a base64 string');
  try {
    return fromBase64(value);
  } catch {
    throw invalid(field, 'must be standard base64 with padding');
  }
}

interface ParsedItem {
  name: string;
  label: string;
  environment: Environment;
  nonce: Uint8Array;
  sealed: Uint8Array;
}

/** Check the whole shape before any key derivation; errors name the field at fault. */
function parseBundle(bundle: unknown): { salt: Uint8Array; iterations: number; items: ParsedItem[] } {
  if (!isObject(bundle)) throw invalid('bundle', 'must be a JSON object');
  if (bundle.format !== BUNDLE_FORMAT) throw invalid('format', `must be "${BUNDLE_FORMAT}"`);
  const kdf = bundle.kdf;
  if (!isObject(kdf)) throw invalid('kdf', 'must be an object');
  if (kdf.name !== BUNDLE_KDF) throw invalid('kdf.name', `must be "${BUNDLE_KDF}"`);
  const iterations = kdf.iterations;
  if (typeof iterations !== 'number' || !Number.isSafeInteger(iterations)) throw invalid('kdf.iterations', 'must be an integer');
  if (iterations < MIN_BUNDLE_ITERATIONS) throw invalid('kdf.iterations', `must be at least ${MIN_BUNDLE_ITERATIONS}`);
  if (iterations > MAX_BUNDLE_ITERATIONS) throw invalid('kdf.iterations', `must be at most ${MAX_BUNDLE_ITERATIONS}`);
  const salt = b64Field(kdf.salt, 'kdf.salt');
  if (salt.length < SALT_BYTES || salt.length > 1024) throw invalid('kdf.salt', `must be ${SALT_BYTES} to 1024 bytes`);
  if (!Array.isArray(bundle.items)) throw invalid('items', 'must be an array');

  const seen = new Set<string>();
  const items = bundle.items.map((item: unknown, i: number): ParsedItem => {
    const at = `items[${i}]`;
    if (!isObject(item)) throw invalid(at, 'must be an object');
    if (typeof item.name !== 'string' || item.name.length === 0) throw invalid(`${at}.name`, 'must be a non-empty string');
    if (typeof item.label !== 'string') throw invalid(`${at}.label`, 'must be a string');
    if (!isEnvironment(item.environment)) throw invalid(`${at}.environment`, 'must be development or production');
    const nonce = b64Field(item.nonce, `${at}.nonce`);
    if (nonce.length !== GCM_NONCE_BYTES) throw invalid(`${at}.nonce`, `must be ${GCM_NONCE_BYTES} bytes`);
    const sealed = b64Field(item.ciphertext, `${at}.ciphertext`);
    if (sealed.length < GCM_TAG_BYTES) throw invalid(`${at}.ciphertext`, 'is shorter than the 16-byte tag');
    const id = `${item.environment}\u0000${item.name}`;
    if (seen.has(id)) throw invalid(at, 'repeats a name in its environment');
    seen.add(id);
    return { name: item.name, label: item.label, environment: item.environment, nonce, sealed };
  });
  return { salt, iterations, items };
}

export async function openBundle(passphrase: string, bundle: unknown): Promise<BundleEntry[]> {
  const parsed = parseBundle(bundle);
  checkPassphrase(passphrase, 'bundle-decrypt-failed');
  const key = await bundleKey(passphrase, parsed.salt, parsed.iterations);
  try {
    return parsed.items.map((item, i) => {
      try {
        return {
          name: item.name,
          label: item.label,
          environment: item.environment,
          value: aesGcmDecrypt(key, item.nonce, item.sealed, utf8(item.name)),
        };
      } catch (error) {
        // The first item failing is what a wrong passphrase looks like; a later one means
        // the passphrase is right and that item was altered (or its name was).
        if (i === 0) throw new KeybridgeError('bundle-decrypt-failed', undefined, { cause: error });
        throw new KeybridgeError('bundle-decrypt-failed', `items[${i}] was modified after export`, {
          field: `items[${i}]`,
          cause: error,
        });
      }
    });
  } finally {
    key.fill(0);
  }
}
