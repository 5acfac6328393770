/**
 * The agent's cache of what the key service returned: ciphertexts and metadata, never
 * plaintext. An entry is fresh for `ttlMs`; after that it is refetched, but if the key
 * service cannot be reached it may still be served until `ttlMs + staleMs` has passed,
 * so a short outage of the key service does not take the sites down with it.
 * `null` entries remember that a key does not exist (same TTL), so a page asking for a
 * missing key does not hit the key service on every request.
 */
export interface CacheOptions {
  ttlMs: number;
  staleMs: number;
  maxEntries: number;
  now?: () => number;
}

interface Entry<T> {
  value: T | null;
  storedAt: number;
}

export type CacheLookup<T> =
  | { state: 'fresh'; value: T | null }
  | { state: 'stale'; value: T | null }
  | { state: 'miss' };

export class CiphertextCache<T> {
  private readonly entries = new Map<string, Entry<T>>();
  private readonly now: () => number;

  constructor(private readonly options: CacheOptions) {
    this.now = options.now ?? Date.now;
  }

  get ttlMs(): number {
    return this.options.ttlMs;
  }

  lookup(id: string): CacheLookup<T> {
    const entry = this.entries.get(id);
    if (!entry) return { state: 'miss' };
    const age = this.now() - entry.storedAt;
    if (age < this.options.ttlMs) return { state: 'fresh', value: entry.value };
    if (age < this.options.ttlMs + this.options.staleMs) return { state: 'stale', value: entry.value };
    this.entries.delete(id);
    return { state: 'miss' };
  }

  store(id: string, value: T | null): void {
    // Map keeps insertion order: deleting first makes this entry the newest, so the
    // eviction below drops the least recently stored one.
    this.entries.delete(id);
    this.entries.set(id, { value, storedAt: this.now() });
    if (this.entries.size > this.options.maxEntries) {
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
