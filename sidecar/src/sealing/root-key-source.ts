import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { randomKey } from '../crypto/index.ts';
import { KeybridgeError } from '../errors.ts';
import { openPkcs11RootKey, type Pkcs11RootKeyOptions } from './pkcs11/pkcs11.ts';
import type { RootKey } from './root-key.ts';
import { openSoftwareRootKey, rootKeyFingerprint, writeSoftwareRootKey } from './software.ts';

/**
 * Where root keys live, for a root key rotation: the configured key, the keys a rotation
 * made, and new ones. A key is named by a short, non-secret *locator* recorded in storage
 * (`root_keys`), relative to the configuration, so the YAML never changes after a rotation:
 * - software: a file name in the directory of `rootKey.file` (the configured one, then
 *   `root-<keyId>.key` for each rotation);
 * - PKCS#11: a CKA_LABEL in the configured token (`keyLabel`, then `<keyLabel>-<keyId>`).
 */
export interface PlannedRootKey {
  keyId: string;
  locator: string;
  /** Makes the key (idempotent for PKCS#11); rejects if it cannot be made. */
  create(): Promise<RootKey>;
}

export interface RootKeySource {
  readonly kind: 'software' | 'pkcs11';
  /** The configured key's locator. */
  readonly configuredLocator: string;
  /** Opens the configured key, creating it on first start. */
  openConfigured(): Promise<RootKey>;
  /** Opens a recorded key; never creates one. Rejects if it holds another key id. */
  open(locator: string, keyId: string): Promise<RootKey>;
  /** Picks a new key: its id and locator are known (and recorded) before it exists. */
  plan(): PlannedRootKey;
  /**
   * The key of a plan recorded by a rotation that was interrupted: opened, or made now if
   * the source can; null when it can no longer be made (a software key's bytes lived only in
   * the process that crashed before writing them).
   */
  resume(locator: string, keyId: string): Promise<RootKey | null>;
  /** Destroys a recorded key; a key that is already gone counts as destroyed. */
  destroy(locator: string, keyId: string): Promise<void>;
}

function checkOpenedId(key: RootKey, keyId: string, where: string): RootKey {
  if (key.keyId === keyId) return key;
  void key.close();
  throw new KeybridgeError('root-key-unavailable', `${where} holds root key ${key.keyId}, not the recorded ${keyId}`);
}

export function softwareRootKeySource(configuredFile: string): RootKeySource {
  const file = resolve(configuredFile);
  const dir = dirname(file);
  const pathOf = (locator: string): string => {
    // Locators come from storage: a plain file name, so a row can never point elsewhere.
    if (locator !== basename(locator) || locator.startsWith('.') || locator.length === 0) {
      throw new KeybridgeError('storage-corrupt', `a recorded software root key locator is not a file name: ${JSON.stringify(locator)}`);
    }
    return join(dir, locator);
  };
  const open = async (locator: string, keyId: string): Promise<RootKey> =>
    checkOpenedId(await openSoftwareRootKey(pathOf(locator), { create: false }), keyId, pathOf(locator));
  return {
    kind: 'software',
    configuredLocator: basename(file),
    openConfigured: () => openSoftwareRootKey(file),
    open,
    plan() {
      const key = randomKey(32);
      const keyId = rootKeyFingerprint(key);
      const locator = `root-${keyId}.key`;
      return {
        keyId,
        locator,
        async create() {
          try {
            await writeSoftwareRootKey(pathOf(locator), key);
          } finally {
            key.fill(0);
          }
          return open(locator, keyId);
        },
      };
    },
    async resume(locator, keyId) {
      return existsSync(pathOf(locator)) ? open(locator, keyId) : null;
    },
    async destroy(locator, keyId) {
      if (!existsSync(pathOf(locator))) return;
      const key = await open(locator, keyId);
      await key.destroy!();
    },
  };
}

export function pkcs11RootKeySource(options: Pkcs11RootKeyOptions): RootKeySource {
  const where = (label: string): string => `the key labelled "${label}" in token "${options.tokenLabel}"`;
  const open = async (locator: string, keyId: string, createIfMissing = false): Promise<RootKey> =>
    checkOpenedId(
      // The CKA_ID matters only when generating (and an HSM admin's key may have any id).
      await openPkcs11RootKey({ ...options, keyLabel: locator, createIfMissing, ...(createIfMissing ? { keyId } : {}) }),
      keyId,
      where(locator),
    );
  return {
    kind: 'pkcs11',
    configuredLocator: options.keyLabel,
    openConfigured: () => openPkcs11RootKey({ ...options, createIfMissing: true }),
    open: (locator, keyId) => open(locator, keyId),
    plan() {
      const keyId = randomBytes(8).toString('hex');
      const locator = `${options.keyLabel}-${keyId}`;
      return { keyId, locator, create: () => open(locator, keyId, true) };
    },
    // The CKA_ID was recorded with the plan: generating now makes the very key recorded.
    resume: (locator, keyId) => open(locator, keyId, true),
    async destroy(locator, keyId) {
      let key: RootKey;
      try {
        key = await open(locator, keyId);
      } catch (error) {
        const gone = error instanceof KeybridgeError && error.field === 'rootKey.keyLabel' && /no secret key labelled/.test(error.message);
        if (gone) return;
        throw error;
      }
      await key.destroy!();
    },
  };
}
