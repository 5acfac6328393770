import { hashPassword, verifyPassword } from '../crypto/index.ts';
import { KeybridgeError } from '../errors.ts';
import { PasswordHasher } from './password-hasher.ts';
import { RateLimiter, type RateLimit } from './rate-limit.ts';

/**
 * Every account password the key service checks or hashes goes through here: registration,
 * the move to production, the re-issue after a revocation.
 *
 * - Per account, attempts are rate-limited (a token bucket per email, taken before anything
 *   else is parsed; an attempt that succeeds gives its token back, so only wrong passwords
 *   count).
 * - Hashing (scrypt, 128 MiB, a few hundred ms of one core) runs in a bounded queue, one at
 *   a time on a thread of its own at a lower priority (password-hasher.ts), at most
 *   `maxQueued` waiting; beyond that `rate-limited` at once. So a guessing storm holds one
 *   low-priority thread and a few KiB of queue, and the reads of registered sites keep their
 *   latency. `bench/keyservice` measures it.
 */
export interface PasswordGuardOptions {
  perAccount?: RateLimit;
  maxQueued?: number;
  now?: () => number;
}

export const DEFAULT_PER_ACCOUNT: RateLimit = { burst: 5, perMinute: 2 };

export class PasswordGuard {
  readonly #accounts: RateLimiter;
  readonly #hasher = new PasswordHasher();
  readonly #maxQueued: number;
  readonly #waiting: (() => void)[] = [];
  #running = 0;

  constructor(options: PasswordGuardOptions = {}) {
    this.#accounts = new RateLimiter(options.perAccount ?? DEFAULT_PER_ACCOUNT, { now: options.now });
    this.#maxQueued = options.maxQueued ?? 8;
  }

  /**
   * Runs `work` as one attempt on the account `email` (normalised; existing or not, so the
   * limit says nothing about whether it exists): `rate-limited` at once when the account has
   * no attempt left, before any other work is done. An attempt that succeeds is given back,
   * so only failures (wrong passwords) count.
   */
  async attempt<T>(email: string, work: () => Promise<T>): Promise<T> {
    this.#accounts.take(email, 'password attempts for this account');
    const result = await work();
    this.#accounts.refund(email);
    return result;
  }

  /** Whether `password` is the one `passwordHash` was made from: scrypt in the bounded queue. */
  verify(password: string, passwordHash: string): Promise<boolean> {
    return this.#queued(() => verifyPassword(password, passwordHash, this.#hasher.run));
  }

  /** A new account's password hash (length checked by hashPassword), through the same queue. */
  hash(password: string): Promise<string> {
    return this.#queued(() => hashPassword(password, this.#hasher.run));
  }

  /** Ends the hashing thread (the key service's close). */
  close(): Promise<void> {
    return this.#hasher.close();
  }

  async #queued<T>(work: () => Promise<T>): Promise<T> {
    if (this.#running >= 1) {
      if (this.#waiting.length >= this.#maxQueued) {
        throw new KeybridgeError('rate-limited', 'the key service is checking too many passwords: try again shortly', {
          retryAfterSeconds: 2,
        });
      }
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    } else this.#running++;
    try {
      return await work();
    } finally {
      // The slot passes straight to the next waiter, or is freed.
      const next = this.#waiting.shift();
      if (next) next();
      else this.#running--;
    }
  }
}
