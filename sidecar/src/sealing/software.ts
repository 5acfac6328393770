import { constants } from 'node:fs';
import { open, unlink } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { aesKwpUnwrap, aesKwpWrap, fromBase64Url, hmacSha256, randomKey, toBase64Url, utf8 } from '../crypto/index.ts';
import { KeybridgeError } from '../errors.ts';
import type { RootKey } from './root-key.ts';
import { createPrivateFileExclusive, fsyncDirectory } from '../files.ts';

/**
 * The embedded default root key: 32 random bytes in a private file (0600), created on
 * first use. Anyone who can read the file and the storage can open every vault, which is
 * why the status table shows it as a warning and production uses PKCS#11.
 *
 * File format, one line: `keybridge-root-key-v1:<base64url of 32 bytes>` + newline.
 */
const PREFIX = 'keybridge-root-key-v1:';
const KEY_BYTES = 32;
const FILE_PATTERN = /^keybridge-root-key-v1:([A-Za-z0-9_-]{43})\n?$/;
const MAX_FILE_BYTES = 256;
const KEY_ID_LABEL = 'keybridge root key id v1';

export interface SoftwareRootKeyOptions {
  /**
   * Create the file with a fresh key when it is missing (default true, the embedded first
   * start). False for a key recorded by a rotation: a missing file must be an error, never
   * silently a new key that opens nothing.
   */
  create?: boolean;
}

export async function openSoftwareRootKey(file: string, options: SoftwareRootKeyOptions = {}): Promise<RootKey> {
  const path = resolve(file);
  if (options.create !== false) {
    const fresh = randomKey(KEY_BYTES);
    try {
      await writeSoftwareRootKey(path, fresh);
    } finally {
      fresh.fill(0);
    }
  }
  const key = await readRootKeyFile(path);
  return new SoftwareRootKey(path, key);
}

/**
 * Writes `key` to a new root key file (0600, durable, never replacing an existing file).
 * Returns false if the file existed. A rotation uses it for the key it rotates to.
 */
export async function writeSoftwareRootKey(file: string, key: Uint8Array): Promise<boolean> {
  const path = resolve(file);
  const line = utf8(`${PREFIX}${toBase64Url(key)}\n`);
  try {
    return await createPrivateFileExclusive(path, line);
  } catch (error) {
    throw new KeybridgeError('config-invalid', `cannot create the software root key file ${path}: ${errnoText(error)}`, {
      field: 'rootKey.file',
      cause: error,
    });
  } finally {
    line.fill(0);
  }
}

/** The fingerprint stored beside sealed data keys: 16 hex characters, not secret. */
export function rootKeyFingerprint(key: Uint8Array): string {
  return Buffer.from(hmacSha256(key, utf8(KEY_ID_LABEL)).subarray(0, 8)).toString('hex');
}

async function readRootKeyFile(path: string): Promise<Uint8Array> {
  const refuse = (why: string): KeybridgeError =>
    new KeybridgeError('config-invalid', `software root key file ${path} ${why}`, { field: 'rootKey.file' });
  let handle;
  try {
    handle = await open(path, constants.O_RDONLY);
  } catch (error) {
    throw refuse(`cannot be opened: ${errnoText(error)}`);
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw refuse('is not a regular file');
    if ((info.mode & 0o077) !== 0) {
      throw refuse(`is open to group or others (mode ${(info.mode & 0o777).toString(8)}); make it 0600`);
    }
    if (info.size > MAX_FILE_BYTES) throw refuse('is not a keybridge root key file (wrong size)');
    const text = Buffer.from(await handle.readFile()).toString('latin1');
    const match = FILE_PATTERN.exec(text);
    if (!match) throw refuse(`is not a keybridge root key file (expected one line "${PREFIX}<43 base64url characters>")`);
    let key: Uint8Array;
    try {
      key = fromBase64Url(match[1]);
    } catch {
      throw refuse('is not a keybridge root key file (the key is not canonical base64url)');
    }
    if (key.length !== KEY_BYTES) throw refuse('is not a keybridge root key file (wrong key length)');
    return key;
  } finally {
    await handle.close();
  }
}

class SoftwareRootKey implements RootKey {
  readonly kind = 'software' as const;
  readonly description: string;
  readonly keyId: string;
  readonly #path: string;
  #key: Uint8Array | null;

  constructor(path: string, key: Uint8Array) {
    this.#path = path;
    this.description = `software root key file ${path}`;
    this.keyId = rootKeyFingerprint(key);
    this.#key = key;
  }

  async wrapDataKey(dataKey: Uint8Array): Promise<Uint8Array> {
    return aesKwpWrap(this.#open(), dataKey);
  }

  async unwrapDataKey(wrapped: Uint8Array): Promise<Uint8Array> {
    const key = this.#open();
    try {
      return aesKwpUnwrap(key, wrapped);
    } catch (error) {
      throw new KeybridgeError(
        'root-key-unavailable',
        `a sealed data key does not open under root key ${this.keyId} (wrong root key, or the stored key was altered)`,
        { cause: error },
      );
    }
  }

  async close(): Promise<void> {
    this.#key?.fill(0);
    this.#key = null;
  }

  /** The file is still there, private, and still holds this key (a restart would find it). */
  async probe(): Promise<void> {
    this.#open();
    let onDisk: Uint8Array;
    try {
      onDisk = await readRootKeyFile(this.#path);
    } catch (error) {
      throw new KeybridgeError('root-key-unavailable', (error as KeybridgeError).detail ?? `${this.#path} cannot be read`, {
        cause: error,
      });
    }
    const same = rootKeyFingerprint(onDisk) === this.keyId;
    onDisk.fill(0);
    if (!same) throw new KeybridgeError('root-key-unavailable', `${this.#path} no longer holds root key ${this.keyId}`);
  }

  /** Removes the file (a missing one counts as removed) and makes the removal durable. */
  async destroy(): Promise<void> {
    this.#open();
    await this.close();
    try {
      await unlink(this.#path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw new KeybridgeError('root-key-unavailable', `cannot remove ${this.#path}: ${errnoText(error)}`, { cause: error });
      }
    }
    await fsyncDirectory(dirname(this.#path));
  }

  #open(): Uint8Array {
    if (!this.#key) throw new KeybridgeError('root-key-unavailable', 'the software root key was closed');
    return this.#key;
  }
}

function errnoText(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code ?? 'unknown error';
}
