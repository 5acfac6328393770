import { hashPassword, verifyPassword } from '../crypto/index.ts';
import { KeybridgeError } from '../errors.ts';
import { RateLimiter, type RateLimit } from './rate-limit.ts';

/**
 * Every account password the key service checks or hashes goes through here: registration,
 * the move to production, the re-issue after a revocation.
 *
 * - Per account, guesses are rate-limited (a token bucket per email; a right password gives
 *   its token back, so an owner who types it right is never slowed by someone guessing).
 * - Hashing (scrypt, 128 MiB, a few hundred ms of one core) runs in a bounded queue:
 *   `concurrency` at a time on libuv's thread pool (four threads), at most `maxQueued`
 *   waiting; beyond that `rate-limited` at once. So a guessing storm holds one pool thread
 *   and a few MiB of queue, and the reads of registered sites (their storage and HSM calls use
 *   the other threads) keep their latency. `bench/keyservice` measures it.
 */
export interface PasswordGuardOptions {
  perAccount?: RateLimit;
  concurrency?: number;
  maxQueued?: number;
  now?: () => number;
}

export const DEFAULT_PER_ACCOUNT: RateLimit = { burst: 5, perMinute: 2 };

export class PasswordGuard {
  readonly #accounts: RateLimiter;
  readonly #concurrency: number;
  readonly #maxQueued: number;
  readonly #waiting: (() => void)[] = [];
  #running = 0;

  constructor(options: PasswordGuardOptions = {}) {
    this.#accounts = new RateLimiter(options.perAccount ?? DEFAULT_PER_ACCOUNT, { now: options.now });
    this.#concurrency = options.concurrency ?? 1;
    this.#maxQueued = options.maxQueued ?? 8;
  }

  /**
   * Whether `password` opens the account `email` whose stored hash is `passwordHash`. Spends
   * one of the account's attempts (`rate-limited` when none is left); a right password
   * refunds it.
   */
  async verify(email: string, password: string, passwordHash: string): Promise<boolean> {
    this.#accounts.take(email, 'password attempts for this account');
    const right = await this.#queued(() => verifyPassword(password, passwordHash));
    if (right) this.#accounts.refund(email);
    return right;
  }

  /** A new account's password hash (length checked by hashPassword), through the same queue. */
  hash(password: string): Promise<string> {
    return this.#queued(() => hashPassword(password));
  }

  async #queued<T>(work: () => Promise<T>): Promise<T> {
    if (this.#running >= this.#concurrency) {
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
