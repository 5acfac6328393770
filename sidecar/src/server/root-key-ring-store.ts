import { KeybridgeError } from '../errors.ts';
import type { RootKey } from '../sealing/root-key.ts';
import type { RootKeyRing } from '../sealing/root-key-ring.ts';
import type { RootKeySource } from '../sealing/root-key-source.ts';
import type { RootKeyRecord, Storage } from '../storage/types.ts';

/**
 * The key service's root keys as storage records them (`root_keys`), so that after a
 * rotation the server finds its active key without any change to its configuration: the
 * records name each key by a locator the configured `RootKeySource` resolves (see
 * sealing/root-key-source.ts). On first start the configured key is recorded as active.
 */

/**
 * Records the configured key as active when storage records no key yet (first start, or a
 * database from before rotation existed, whose vaults the configured key sealed). Returns
 * the opened key when it did, so the caller need not open it again.
 */
export async function adoptConfiguredRootKey(storage: Storage, source: RootKeySource, now = () => new Date()): Promise<RootKey | null> {
  if ((await storage.listRootKeys()).length > 0) return null;
  const key = await source.openConfigured();
  const record = { keyId: key.keyId, kind: source.kind, locator: source.configuredLocator, state: 'active' as const };
  // Two nodes starting at once with the same configuration record the same key: either wins.
  await storage.addRootKey(record, now().toISOString());
  const active = (await storage.listRootKeys()).find((r) => r.state === 'active');
  if (active?.keyId === key.keyId) return key;
  await key.close();
  return null;
}

export function activeRecord(records: readonly RootKeyRecord[]): RootKeyRecord {
  const active = records.find((r) => r.state === 'active');
  if (!active) throw new KeybridgeError('root-key-unavailable', 'storage records no active root key');
  return active;
}

/** Opens the active key (and the retiring one, during a rotation) as recorded in storage. */
export async function openStoredRootKeyRing(storage: Storage, source: RootKeySource): Promise<StoredRootKeyRing> {
  const adopted = await adoptConfiguredRootKey(storage, source);
  const ring = new StoredRootKeyRing(storage, source, adopted);
  try {
    await ring.refresh();
  } catch (error) {
    await ring.close();
    throw error;
  }
  return ring;
}

export class StoredRootKeyRing implements RootKeyRing {
  readonly #storage: Storage;
  readonly #source: RootKeySource;
  readonly #held = new Map<string, RootKey>();
  #current: RootKey | null = null;
  #refreshing: Promise<boolean> | null = null;
  #closed = false;

  constructor(storage: Storage, source: RootKeySource, opened: RootKey | null) {
    this.#storage = storage;
    this.#source = source;
    if (opened) this.#held.set(opened.keyId, opened);
  }

  get current(): RootKey {
    if (!this.#current) throw new KeybridgeError('root-key-unavailable', 'the root key ring holds no active key');
    return this.#current;
  }

  get(keyId: string): RootKey | undefined {
    return this.#held.get(keyId);
  }

  /** Concurrent callers share one read of the records. */
  refresh(): Promise<boolean> {
    if (this.#closed) return Promise.resolve(false);
    this.#refreshing ??= this.#refresh().finally(() => (this.#refreshing = null));
    return this.#refreshing;
  }

  async close(): Promise<void> {
    this.#closed = true;
    const keys = [...this.#held.values()];
    this.#held.clear();
    this.#current = null;
    await Promise.allSettled(keys.map((key) => key.close()));
  }

  async #refresh(): Promise<boolean> {
    const records = await this.#storage.listRootKeys();
    const active = activeRecord(records);
    const retiring = records.find((r) => r.state === 'retiring');
    let changed = false;
    for (const record of retiring ? [active, retiring] : [active]) {
      if (this.#held.has(record.keyId)) continue;
      try {
        this.#held.set(record.keyId, await this.#source.open(record.locator, record.keyId));
        changed = true;
      } catch (error) {
        // A retiring key may already be destroyed by a rotation about to record it.
        if (record === active) throw error;
      }
    }
    if (this.#closed) {
      // Closed while keys were being opened: close what this refresh opened too.
      await this.close();
      return false;
    }
    if (this.#current?.keyId !== active.keyId) {
      this.#current = this.#held.get(active.keyId)!;
      changed = true;
    }
    const keep = new Set([active.keyId, retiring?.keyId]);
    for (const [keyId, key] of this.#held) {
      if (keep.has(keyId)) continue;
      this.#held.delete(keyId);
      await key.close().catch(() => undefined);
      changed = true;
    }
    return changed;
  }
}
