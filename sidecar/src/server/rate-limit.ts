import { KeybridgeError } from '../errors.ts';

/**
 * Token buckets keyed by a client address or an account: `burst` attempts at once, then
 * `perMinute` more each minute. Memory stays bounded: past `maxKeys` the least recently
 * refilled buckets are dropped (a dropped bucket starts full again, so a flood of new keys
 * costs the flooder its own per-address budget, never a legitimate client's).
 */
export interface RateLimit {
  burst: number;
  perMinute: number;
}

export class RateLimiter {
  readonly #limit: RateLimit;
  readonly #maxKeys: number;
  readonly #now: () => number;
  readonly #buckets = new Map<string, { tokens: number; at: number }>();

  constructor(limit: RateLimit, options: { maxKeys?: number; now?: () => number } = {}) {
    if (!(limit.burst >= 1 && limit.perMinute > 0))
      throw new KeybridgeError('config-invalid', 'a rate limit needs burst ≥ 1 and perMinute > 0');
    this.#limit = limit;
    this.#maxKeys = options.maxKeys ?? 50_000;
    this.#now = options.now ?? Date.now;
  }

  /** Takes one attempt for `key`, or throws `rate-limited` with the seconds until the next one. */
  take(key: string, what: string): void {
    const bucket = this.#refilled(key);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return;
    }
    const seconds = Math.ceil(((1 - bucket.tokens) * 60) / this.#limit.perMinute);
    throw new KeybridgeError('rate-limited', `too many ${what}: try again in ${seconds} s`, { retryAfterSeconds: seconds });
  }

  /** Gives back an attempt that turned out legitimate (a right password). */
  refund(key: string): void {
    const bucket = this.#refilled(key);
    bucket.tokens = Math.min(this.#limit.burst, bucket.tokens + 1);
  }

  #refilled(key: string): { tokens: number; at: number } {
    const now = this.#now();
    let bucket = this.#buckets.get(key);
    if (bucket) {
      bucket.tokens = Math.min(this.#limit.burst, bucket.tokens + ((now - bucket.at) / 60_000) * this.#limit.perMinute);
      bucket.at = now;
      // Re-inserted, so Map order is least recently used first.
      this.#buckets.delete(key);
    } else {
      bucket = { tokens: this.#limit.burst, at: now };
      if (this.#buckets.size >= this.#maxKeys) {
        for (const oldest of this.#buckets.keys()) {
          this.#buckets.delete(oldest);
          if (this.#buckets.size < this.#maxKeys * 0.9) break;
        }
      }
    }
    this.#buckets.set(key, bucket);
    return bucket;
  }
}
