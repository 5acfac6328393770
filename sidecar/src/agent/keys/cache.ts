/**
 * The agent's cache of what the key service returned: ciphertexts and metadata, never
 * plaintext. An entry is fresh for `ttlMs` from the moment it was stored (hits do not
 * extend it, so the TTL bounds how long a deletion or a KEK rotation elsewhere can go
 * unseen); after that it is refetched, but if the key service cannot be reached it may
 * still be served until `ttlMs + staleMs` has passed, so a short outage of the key service
 * does not take the sites down with it.
 * `null` entries remember that a key does not exist (same TTL), so a page asking for a
 * missing key does not hit the key service on every request.
 *
 * Refresh ahead: each entry gets a refresh point between 2/3 and 5/6 of its TTL (random,
 * so keys stored together do not all come due together). The first fresh hit past that
 * point is told `refreshDue` (once per entry), and the reader refetches in the background
 * while the entry keeps serving; a read key therefore never reaches its TTL and never
 * waits for the key service.
 */
export interface CacheOptions {
  ttlMs: number;
  staleMs: number;
  maxEntries: number;
  now?: () => number;
  /** Source of the refresh-point jitter, in [0, 1) (tests pin it). */
  random?: () => number;
}

export const REFRESH_FROM = 2 / 3;
export const REFRESH_SPREAD = 1 / 6;

interface Entry<T> {
  value: T | null;
  storedAt: number;
  refreshAt: number;
  refreshClaimed: boolean;
  /** The answer to a fresh hit that is not due for refresh, made once: hits allocate nothing. */
  hit: CacheLookup<T>;
}

export type CacheLookup<T> =
  { state: 'fresh'; value: T | null; refreshDue: boolean } | { state: 'stale'; value: T | null } | { state: 'miss' };

const MISS = { state: 'miss' } as const;

export class CiphertextCache<T> {
  private readonly entries = new Map<string, Entry<T>>();
  private readonly now: () => number;
  private readonly random: () => number;

  constructor(private readonly options: CacheOptions) {
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
  }

  get ttlMs(): number {
    return this.options.ttlMs;
  }

  lookup(id: string): CacheLookup<T> {
    const entry = this.entries.get(id);
    if (!entry) return MISS;
    const now = this.now();
    const age = now - entry.storedAt;
    if (age < this.options.ttlMs) {
      if (entry.refreshClaimed || now < entry.refreshAt) return entry.hit;
      entry.refreshClaimed = true;
      return { state: 'fresh', value: entry.value, refreshDue: true };
    }
    if (age < this.options.ttlMs + this.options.staleMs) return { state: 'stale', value: entry.value };
    this.entries.delete(id);
    return MISS;
  }

  store(id: string, value: T | null): void {
    const storedAt = this.now();
    const { ttlMs, maxEntries } = this.options;
    const refreshAt = storedAt + ttlMs * (REFRESH_FROM + this.random() * REFRESH_SPREAD);
    // Map keeps insertion order: deleting first makes this entry the newest, so the
    // eviction below drops the least recently stored one.
    this.entries.delete(id);
    this.entries.set(id, { value, storedAt, refreshAt, refreshClaimed: false, hit: { state: 'fresh', value, refreshDue: false } });
    if (this.entries.size > maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
  }

  forget(id: string): void {
    this.entries.delete(id);
  }

  clear(): void {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }
}
