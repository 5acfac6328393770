import { randomKey } from '../crypto/index.ts';
import { KeybridgeError } from '../errors.ts';
import type { ClientIdentity } from '../protocol/keyservice.ts';
import type { RootKey } from '../sealing/root-key.ts';
import { asRootKeyRing, type RootKeyRing } from '../sealing/root-key-ring.ts';
import type { Storage, VaultKey, VaultRecord } from '../storage/types.ts';

/**
 * Finds or creates the vault for a client and holds its unwrapped data key in memory for
 * the life of the process (never on disk). Each vault has its own 32-byte random data key,
 * stored only as sealed by the root key.
 *
 * Given a root key ring, a vault opens with whichever held key sealed it (during a rotation,
 * the current one or the one being retired), and new vaults are sealed by the current one.
 * When a vault names a key the ring does not hold, or storage refuses a new vault because
 * the current key is being retired, the ring is refreshed once: that is how a node picks up a
 * rotation another process made while it kept running.
 */
export interface OpenVault {
  vaultId: string;
  dataKey: Uint8Array;
}

const DATA_KEY_BYTES = 32;

export class VaultKeyring {
  readonly #storage: Storage;
  readonly #ring: RootKeyRing;
  readonly #region: string;
  readonly #open = new Map<string, OpenVault>();
  readonly #pending = new Map<string, Promise<OpenVault | null>>();

  constructor(storage: Storage, rootKey: RootKey | RootKeyRing, region: string) {
    this.#storage = storage;
    this.#ring = asRootKeyRing(rootKey);
    this.#region = region;
  }

  /** The client's vault, or null if it was never created (nothing stored yet). */
  find(identity: ClientIdentity): Promise<OpenVault | null> {
    return this.#load(identity, false);
  }

  /** The client's vault, created on first use. */
  async ensure(identity: ClientIdentity): Promise<OpenVault> {
    const vault = await this.#load(identity, true);
    if (!vault) throw new KeybridgeError('internal', 'a vault could not be created');
    return vault;
  }

  /** Forgets (and zeroes) every cached data key. */
  clear(): void {
    for (const vault of this.#open.values()) vault.dataKey.fill(0);
    this.#open.clear();
  }

  async #load(identity: ClientIdentity, create: boolean): Promise<OpenVault | null> {
    const cacheKey = `${identity.siteId}\u0000${identity.environment}`;
    const cached = this.#open.get(cacheKey);
    if (cached) return cached;
    const pendingKey = `${cacheKey}\u0000${create ? 'ensure' : 'find'}`;
    let pending = this.#pending.get(pendingKey);
    if (!pending) {
      pending = this.#fetch(identity, create).finally(() => this.#pending.delete(pendingKey));
      this.#pending.set(pendingKey, pending);
    }
    const vault = await pending;
    if (!vault) return null;
    const winner = this.#open.get(cacheKey);
    if (winner) {
      if (winner !== vault) vault.dataKey.fill(0);
      return winner;
    }
    this.#open.set(cacheKey, vault);
    return vault;
  }

  async #fetch(identity: ClientIdentity, create: boolean): Promise<OpenVault | null> {
    const key: VaultKey = { siteId: identity.siteId, environment: identity.environment, region: this.#region };
    if (!create) {
      const record = await this.#storage.findVault(key);
      return record ? this.#unseal(record) : null;
    }
    let record: VaultRecord;
    try {
      record = await this.#storage.ensureVault(key, () => this.#newSealedDataKey());
    } catch (error) {
      const retired = error instanceof KeybridgeError && error.type === 'root-key-unavailable';
      if (!retired || !(await this.#ring.refresh().catch(() => false))) throw error;
      record = await this.#storage.ensureVault(key, () => this.#newSealedDataKey());
    }
    return this.#unseal(record);
  }

  async #newSealedDataKey(): Promise<{ sealedDataKey: Uint8Array; rootKeyId: string }> {
    const rootKey = this.#ring.current;
    const dataKey = randomKey(DATA_KEY_BYTES);
    try {
      return { sealedDataKey: await rootKey.wrapDataKey(dataKey), rootKeyId: rootKey.keyId };
    } finally {
      dataKey.fill(0);
    }
  }

  async #unseal(record: VaultRecord): Promise<OpenVault> {
    let rootKey = this.#ring.get(record.rootKeyId);
    if (!rootKey && (await this.#ring.refresh().catch(() => false))) rootKey = this.#ring.get(record.rootKeyId);
    if (!rootKey) {
      throw new KeybridgeError(
        'root-key-unavailable',
        `the vault's data key is sealed by root key ${record.rootKeyId}, but this key service has root key ${this.#ring.current.keyId}`,
      );
    }
    const dataKey = await rootKey.unwrapDataKey(record.sealedDataKey);
    if (dataKey.length !== DATA_KEY_BYTES) {
      dataKey.fill(0);
      throw new KeybridgeError('storage-corrupt', 'a vault data key has the wrong length');
    }
    return { vaultId: record.vaultId, dataKey };
  }
}
