import type { RootKey } from './root-key.ts';

/**
 * The root keys a key service holds: the `current` one seals new data keys; during a root
 * key rotation the one being retired is held too, so vaults not yet re-wrapped still open.
 * A ring backed by storage (server/root-key-ring-store.ts) can `refresh()` to pick up a
 * rotation another process or node made; a fixed ring never changes.
 */
export interface RootKeyRing {
  /** Seals new data keys (may change after `refresh()`). */
  readonly current: RootKey;
  /** The held key with this id (the current one or one being retired), else undefined. */
  get(keyId: string): RootKey | undefined;
  /** Re-reads which keys exist; true if `current` or the held keys changed. */
  refresh(): Promise<boolean>;
  /** Closes every held key. */
  close(): Promise<void>;
}

/** A ring of fixed keys: `current` first, then any others it should still open with. */
export class FixedRootKeyRing implements RootKeyRing {
  readonly current: RootKey;
  readonly #keys: RootKey[];

  constructor(current: RootKey, ...others: RootKey[]) {
    this.current = current;
    this.#keys = [current, ...others];
  }

  get(keyId: string): RootKey | undefined {
    return this.#keys.find((key) => key.keyId === keyId);
  }

  async refresh(): Promise<boolean> {
    return false;
  }

  async close(): Promise<void> {
    const results = await Promise.allSettled(this.#keys.map((key) => key.close()));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }
}

export function isRootKeyRing(value: RootKey | RootKeyRing): value is RootKeyRing {
  return typeof (value as RootKeyRing).get === 'function' && 'current' in value;
}

/** Lets callers that were given one root key and callers given a ring share one code path. */
export function asRootKeyRing(value: RootKey | RootKeyRing): RootKeyRing {
  return isRootKeyRing(value) ? value : new FixedRootKeyRing(value);
}
