import type { Handle, Pkcs11Library } from './library.ts';
import { pkcs11js, swallow } from './library.ts';

/**
 * A small pool of read-only sessions on one token, for one root key.
 *
 * Why a pool: a PKCS#11 session runs one operation at a time (EncryptInit … Encrypt), so
 * concurrent async calls each need their own session; opening one per call would cost a
 * round trip on a network HSM and can exhaust the HSM's session limit. At most `max` are
 * open; later callers wait in line.
 *
 * Why `discard`: after a failed call a session may keep a half-finished operation (SoftHSM
 * leaves one active after CKR_ARGUMENTS_BAD), so it is closed rather than reused.
 *
 * Why `drop` never closes: after a re-initialisation old handle numbers can belong to new
 * sessions of someone else, so stale handles are forgotten, not closed.
 */
export class SessionPool {
  #idle: Handle[] = [];
  #open = 0;
  #waiters: Array<{ resolve: (session: Handle) => void; reject: (error: unknown) => void }> = [];
  #dropped: unknown = null;

  constructor(
    private readonly library: Pkcs11Library,
    private readonly slot: Handle,
    private readonly max: number,
  ) {}

  get openCount(): number {
    return this.#open;
  }

  async acquire(): Promise<Handle> {
    if (this.#dropped) throw this.#dropped;
    const idle = this.#idle.pop();
    if (idle) return idle;
    if (this.#open < this.max) return this.#openOne();
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  release(session: Handle): void {
    if (this.#dropped) return;
    const waiter = this.#waiters.shift();
    if (waiter) waiter.resolve(session);
    else this.#idle.push(session);
  }

  discard(session: Handle): void {
    if (this.#dropped) return;
    swallow(() => this.library.api.C_CloseSession(session));
    this.#open--;
    const waiter = this.#waiters.shift();
    if (!waiter) return;
    try {
      waiter.resolve(this.#openOne());
    } catch (error) {
      waiter.reject(error);
    }
  }

  /** Closes the idle sessions (the pool is being shut down while the library is healthy). */
  closeIdle(): void {
    for (const session of this.#idle.splice(0)) {
      swallow(() => this.library.api.C_CloseSession(session));
      this.#open--;
    }
  }

  /** Forgets every handle after a re-initialisation; waiting callers get `reason`. */
  drop(reason: unknown): void {
    this.#dropped = reason;
    this.#idle = [];
    this.#open = 0;
    for (const waiter of this.#waiters.splice(0)) waiter.reject(reason);
  }

  #openOne(): Handle {
    const session = this.library.api.C_OpenSession(this.slot, pkcs11js().CKF_SERIAL_SESSION);
    this.#open++;
    return session;
  }
}
