import { createHash, timingSafeEqual } from 'node:crypto';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import type * as Pkcs11Js from 'pkcs11js';
import { KeybridgeError } from '../../errors.ts';

/**
 * One loaded PKCS#11 module per process, shared by every root key that uses it.
 *
 * Why shared: a module is initialised once per process (a second C_Initialize fails) and the
 * login state belongs to the token, not to a session, so two root keys on one token (old and
 * new during a rotation, or tests) must agree on who initialises, logs in and finalizes.
 *
 * Why a gate: recovering from a lost token means C_Finalize + C_Initialize, which would pull
 * the library out from under an async call still running on a libuv worker thread. Calls run
 * under `gate.shared`, recovery and closing under `gate.exclusive`, which waits for them.
 */

export type Pkcs11 = typeof Pkcs11Js;
export type Handle = Buffer;

const require = createRequire(import.meta.url);
let binding: Pkcs11 | undefined;

/** pkcs11js is CommonJS around a native addon: loaded on first use so the software root key never needs it. */
export function pkcs11js(): Pkcs11 {
  binding ??= require('pkcs11js') as Pkcs11;
  return binding;
}

/** The CKR_* name (pkcs11js puts it in the message) or a short native error text; never a PIN. */
export function ckrName(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return /CKR_[A-Z0-9_]+/.exec(message)?.[0] ?? message.split('\n')[0].slice(0, 200);
}

export function ckrCode(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'number' && /CKR_/.test(String((error as Error).message)) ? code : undefined;
}

export class Gate {
  #active = 0;
  #exclusive: Promise<void> | null = null;
  #drained: (() => void) | null = null;

  async shared<T>(fn: () => Promise<T>): Promise<T> {
    while (this.#exclusive) await this.#exclusive;
    this.#active++;
    try {
      return await fn();
    } finally {
      if (--this.#active === 0) this.#drained?.();
    }
  }

  async exclusive<T>(fn: () => T): Promise<T> {
    while (this.#exclusive) await this.#exclusive;
    let release!: () => void;
    this.#exclusive = new Promise((done) => (release = done));
    try {
      if (this.#active > 0) await new Promise<void>((done) => (this.#drained = done));
      this.#drained = null;
      return fn();
    } finally {
      this.#exclusive = null;
      release();
    }
  }
}

const registry = new Map<string, Pkcs11Library>();

export class Pkcs11Library {
  readonly gate = new Gate();
  /** Bumped on every re-initialisation: handles from an older generation are meaningless. */
  generation = 0;
  #initialized = false;
  #stale = false;
  #recovering: Promise<void> | null = null;
  #users = 0;
  /** Per token (slot id hex) in this generation: a digest of the PIN that logged in, and who uses it. */
  #logins = new Map<string, { pin: Buffer; users: number }>();

  private constructor(
    readonly path: string,
    readonly api: Pkcs11Js.PKCS11,
  ) {}

  /** Loads (once per process) and initialises the module; a bad path is a configuration error. */
  static async open(modulePath: string): Promise<Pkcs11Library> {
    const key = modulePath.includes('/') ? resolve(modulePath) : modulePath;
    let library = registry.get(key);
    if (!library) {
      let api: Pkcs11Js.PKCS11;
      try {
        api = new (pkcs11js().PKCS11)();
        api.load(key);
      } catch (error) {
        throw new KeybridgeError('config-invalid', `cannot load the PKCS#11 module ${key}: ${ckrName(error)}`, {
          field: 'rootKey.module',
          cause: error,
        });
      }
      library = new Pkcs11Library(key, api);
      registry.set(key, library);
    }
    library.#users++;
    try {
      await library.gate.exclusive(() => library.#initialize());
    } catch (error) {
      library.#users--;
      // SoftHSM fails C_Initialize with CKR_GENERAL_ERROR when it finds no configuration.
      const hint = /softhsm/i.test(key) && !process.env.SOFTHSM2_CONF ? ' (SOFTHSM2_CONF is not set)' : '';
      throw new KeybridgeError('root-key-unavailable', `the PKCS#11 module ${key} does not initialise: ${ckrName(error)}${hint}`, {
        cause: error,
      });
    }
    return library;
  }

  /** A call saw the token fail: the next call re-initialises (unless another did already). */
  markStale(generation: number): void {
    if (generation === this.generation) this.#stale = true;
  }

  /** Re-initialises after a token failure; concurrent callers share one attempt. */
  async recoverIfStale(): Promise<void> {
    if (!this.#stale && this.#initialized) return;
    this.#recovering ??= this.gate
      .exclusive(() => {
        if (!this.#stale && this.#initialized) return;
        this.#finalize();
        this.#initialize();
        this.#stale = false;
      })
      .finally(() => (this.#recovering = null));
    await this.#recovering;
  }

  /** The slot holding the initialised token with this label; several with one label are refused. */
  findSlot(tokenLabel: string): Handle | undefined {
    const slots = this.api.C_GetSlotList(true).filter((slot) => {
      try {
        const info = this.api.C_GetTokenInfo(slot);
        return info.label.trimEnd() === tokenLabel && (info.flags & pkcs11js().CKF_TOKEN_INITIALIZED) !== 0;
      } catch {
        return false; // a slot that cannot describe its token is not ours
      }
    });
    if (slots.length > 1) {
      throw new KeybridgeError('config-invalid', `several PKCS#11 tokens are labelled "${tokenLabel}"`, {
        field: 'rootKey.tokenLabel',
      });
    }
    return slots[0];
  }

  /**
   * Logs the user in once per token. A second root key on a logged-in token gets
   * CKR_USER_ALREADY_LOGGED_IN whatever PIN it sends, so its PIN is compared with the one
   * that logged in: otherwise a wrong PIN would pass unnoticed until the next restart.
   * Returns the CKR name of a PIN failure, or undefined on success.
   */
  login(session: Handle, slot: Handle, pin: string): string | undefined {
    const p = pkcs11js();
    const slotKey = slot.toString('hex');
    const digest = createHash('sha256').update('keybridge pin check\0').update(pin).digest();
    const known = this.#logins.get(slotKey);
    if (known) {
      if (!timingSafeEqual(known.pin, digest)) return 'CKR_PIN_INCORRECT';
      known.users++;
      return undefined;
    }
    try {
      this.api.C_Login(session, p.CKU_USER, pin);
    } catch (error) {
      const code = ckrCode(error);
      if (code === p.CKR_PIN_INCORRECT || code === p.CKR_PIN_LEN_RANGE || code === p.CKR_PIN_LOCKED) {
        return ckrName(error);
      }
      // Logged in by code outside keybridge in this process: nothing to compare with, accept.
      if (code !== p.CKR_USER_ALREADY_LOGGED_IN) throw error;
    }
    this.#logins.set(slotKey, { pin: digest, users: 1 });
    return undefined;
  }

  /** Drops one user of a token; the last one logs out (login state is shared by all sessions). */
  logout(slot: Handle, session: Handle | undefined, generation: number): void {
    if (generation !== this.generation) return;
    const slotKey = slot.toString('hex');
    const known = this.#logins.get(slotKey);
    if (!known || --known.users > 0) return;
    this.#logins.delete(slotKey);
    if (session) swallow(() => this.api.C_Logout(session));
  }

  /** Drops one user of the module; the last one finalizes. The library stays loaded (dlclose is not safe for every module). */
  release(): void {
    if (--this.#users > 0) return;
    this.#finalize();
    this.#stale = false;
  }

  #initialize(): void {
    if (this.#initialized) return;
    const p = pkcs11js();
    try {
      // OS locking is mandatory: without it SoftHSM crashed under concurrent async calls.
      this.api.C_Initialize({ flags: p.CKF_OS_LOCKING_OK });
    } catch (error) {
      if (ckrCode(error) !== p.CKR_CRYPTOKI_ALREADY_INITIALIZED) throw error;
    }
    this.#initialized = true;
  }

  #finalize(): void {
    // Every session and handle dies here: later generations must not reuse them.
    this.generation++;
    this.#logins.clear();
    if (this.#initialized) swallow(() => this.api.C_Finalize());
    this.#initialized = false;
  }
}

/** For clean-up calls whose failure changes nothing (the token may already be gone). */
export function swallow(fn: () => unknown): void {
  try {
    fn();
  } catch {
    // ignored on purpose
  }
}
