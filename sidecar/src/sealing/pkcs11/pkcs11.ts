import { randomBytes } from 'node:crypto';
import { basename, resolve } from 'node:path';
import { KeybridgeError } from '../../errors.ts';
import { attachToToken, type Attachment, type Mechanism } from './attach.ts';
import { FORMAT, gcm, IV_BYTES, readPin, seal, TAG_BYTES } from './format.ts';
import { ckrName, Pkcs11Library, pkcs11js, swallow } from './library.ts';
import type { RootKey } from '../root-key.ts';

/**
 * The production root key: an AES-256 key generated inside a PKCS#11 token that never leaves it.
 *
 * Data keys are sealed by C_Encrypt/C_Decrypt under the root key, so they never become HSM
 * objects (no object churn, nothing left behind in the token if the process dies):
 * - `aes-kwp`: CKM_AES_KEY_WRAP_PAD (RFC 5649, like the software root key), used when the module
 *   offers it for encryption;
 * - `aes-gcm`: CKM_AES_GCM otherwise, 96-bit random IV, 128-bit tag, fixed AAD. SoftHSM 2.6.1
 *   offers AES-KWP only through C_WrapKey (CKF_WRAP|CKF_UNWRAP, not CKF_ENCRYPT), so with
 *   SoftHSM this is what runs.
 * Sealed format: one format byte (1 = aes-kwp, 2 = aes-gcm) then the mechanism output
 * (gcm: iv12 ‖ ct ‖ tag16). The byte lets a module that later gains KWP still open what was
 * sealed with GCM; a 32-byte data key seals to 41 (kwp) or 61 (gcm) bytes.
 *
 * SoftHSM reads its configuration from SOFTHSM2_CONF at C_Initialize: set it in this
 * process's environment (process.env.SOFTHSM2_CONF) before opening the root key.
 *
 * Failures: configuration mistakes found while opening (module, token, PIN, key label) are
 * 'config-invalid' naming the field. Once open, a failing token makes calls reject with
 * 'root-key-unavailable'; the next call finalizes and re-initialises the module, logs in and
 * finds the key by label again, so service resumes by itself when the token is back.
 */

export interface Pkcs11RootKeyOptions {
  /** Path of the PKCS#11 module, e.g. /usr/lib/softhsm/libsofthsm2.so. */
  module: string;
  /** Label of the token holding the root key. */
  tokenLabel: string;
  /** File holding the user PIN on one line (not readable by others). */
  pinFile: string;
  /** CKA_LABEL of the root key. */
  keyLabel: string;
  /** Generate the key in the token when no key has this label (first setup). Default false. */
  createIfMissing?: boolean;
  /** 'auto' (default) prefers aes-kwp, else aes-gcm; forcing one the module lacks is refused. */
  mechanism?: 'auto' | Mechanism;
  /** Upper bound on concurrently open sessions for this root key. Default 8. */
  maxSessions?: number;
  /**
   * CKA_ID (hex, 8 bytes) for a key generated now; random when absent. A root key rotation
   * picks it before the key exists, so the key id is recorded first and a rotation
   * interrupted in between re-opens (or makes) the very key it recorded.
   */
  keyId?: string;
}

const MAX_DATA_KEY_BYTES = 1024;
const PROBE_DATA = new Uint8Array(16);

export async function openPkcs11RootKey(options: Pkcs11RootKeyOptions): Promise<RootKey> {
  for (const field of ['module', 'tokenLabel', 'pinFile', 'keyLabel'] as const) {
    if (typeof options[field] !== 'string' || options[field].length === 0) {
      throw new KeybridgeError('config-invalid', `rootKey.${field} is required for a PKCS#11 root key`, {
        field: `rootKey.${field}`,
      });
    }
  }
  const { mechanism = 'auto', maxSessions = 8 } = options;
  if (options.keyId !== undefined && !/^[0-9a-f]{16}$/.test(options.keyId)) {
    throw new KeybridgeError('config-invalid', 'rootKey.keyId must be 16 lowercase hex characters', { field: 'rootKey.keyId' });
  }
  if (!['auto', 'aes-kwp', 'aes-gcm'].includes(mechanism)) {
    throw new KeybridgeError('config-invalid', 'rootKey.mechanism must be auto, aes-kwp or aes-gcm', { field: 'rootKey.mechanism' });
  }
  if (!Number.isInteger(maxSessions) || maxSessions < 1 || maxSessions > 1024) {
    throw new KeybridgeError('config-invalid', 'rootKey.maxSessions must be an integer from 1 to 1024', {
      field: 'rootKey.maxSessions',
    });
  }
  const pin = await readPin(resolve(options.pinFile));
  const library = await Pkcs11Library.open(options.module);
  try {
    return new Pkcs11RootKey(library, options, pin, attachToToken(library, options, pin, true));
  } catch (error) {
    await library.gate.exclusive(() => library.release());
    if (error instanceof KeybridgeError) throw error;
    throw new KeybridgeError('root-key-unavailable', `PKCS#11 token "${options.tokenLabel}": ${ckrName(error)}`, {
      cause: error,
    });
  }
}

class Pkcs11RootKey implements RootKey {
  readonly kind = 'pkcs11' as const;
  readonly description: string;
  readonly keyId: string;
  readonly #mechanism: Mechanism;
  #state: Attachment | null;
  #fatal: KeybridgeError | null = null;
  #closed = false;

  constructor(
    private readonly library: Pkcs11Library,
    private readonly options: Pkcs11RootKeyOptions,
    private readonly pin: string,
    first: Attachment,
  ) {
    this.description = `PKCS#11 ${basename(options.module)}, token "${options.tokenLabel}", key "${options.keyLabel}"`;
    this.keyId = first.keyId;
    this.#mechanism = first.mechanism;
    this.#state = first;
  }

  async wrapDataKey(dataKey: Uint8Array): Promise<Uint8Array> {
    if (!(dataKey instanceof Uint8Array) || dataKey.length === 0 || dataKey.length > MAX_DATA_KEY_BYTES) {
      throw new RangeError(`a data key must be 1 to ${MAX_DATA_KEY_BYTES} bytes`);
    }
    const input = Buffer.from(dataKey.buffer, dataKey.byteOffset, dataKey.byteLength);
    return this.#run('wrap', async (session, key) => {
      const { api } = this.library;
      const out = Buffer.alloc(input.length + TAG_BYTES);
      if (this.#mechanism === 'aes-kwp') {
        api.C_EncryptInit(session, { mechanism: pkcs11js().CKM_AES_KEY_WRAP_PAD }, key);
        return seal(FORMAT['aes-kwp'], await api.C_EncryptAsync(session, input, out));
      }
      const iv = randomBytes(IV_BYTES);
      api.C_EncryptInit(session, gcm(iv), key);
      return seal(FORMAT['aes-gcm'], iv, await api.C_EncryptAsync(session, input, out));
    });
  }

  async unwrapDataKey(wrapped: Uint8Array): Promise<Uint8Array> {
    this.#checkOpen();
    const bytes = Buffer.from(wrapped.buffer, wrapped.byteOffset, wrapped.byteLength);
    const body = bytes.subarray(1);
    const kwp = bytes[0] === FORMAT['aes-kwp'] && body.length >= 16 && body.length % 8 === 0;
    const aesGcm = bytes[0] === FORMAT['aes-gcm'] && body.length > IV_BYTES + TAG_BYTES;
    // Checked here: a malformed input would leave SoftHSM's operation half-open (CKR_ARGUMENTS_BAD).
    if (!kwp && !aesGcm) throw this.#doesNotOpen('not a PKCS#11 sealed data key');
    return this.#run('unwrap', async (session, key) => {
      const { api } = this.library;
      const out = Buffer.alloc(body.length);
      try {
        let plain: Buffer;
        if (kwp) {
          api.C_DecryptInit(session, { mechanism: pkcs11js().CKM_AES_KEY_WRAP_PAD }, key);
          plain = await api.C_DecryptAsync(session, body, out);
        } else {
          api.C_DecryptInit(session, gcm(body.subarray(0, IV_BYTES)), key);
          plain = await api.C_DecryptAsync(session, body.subarray(IV_BYTES), out);
        }
        return new Uint8Array(plain);
      } finally {
        out.fill(0);
      }
    });
  }

  /** One tiny encryption: proves token, login and key, and re-attaches a token that came back. */
  async probe(): Promise<void> {
    await this.wrapDataKey(PROBE_DATA);
  }

  /** C_DestroyObject on the key in a read-write session, then close. */
  async destroy(): Promise<void> {
    this.#checkOpen();
    await this.#ready();
    const state = this.#state!;
    await this.library.gate.shared(async () => {
      if (state.generation !== this.library.generation) throw this.#unavailable('the module was re-initialised');
      const { api } = this.library;
      const p = pkcs11js();
      let session: Buffer | undefined;
      try {
        session = api.C_OpenSession(state.slot, p.CKF_SERIAL_SESSION | p.CKF_RW_SESSION);
        api.C_DestroyObject(session, state.key);
      } catch (error) {
        throw this.#unavailable(`cannot destroy the key labelled "${this.options.keyLabel}" (${ckrName(error)})`, error);
      } finally {
        if (session) swallow(() => api.C_CloseSession(session!));
      }
    });
    await this.close();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // Exclusive: no call of any root key on this module is mid-flight while sessions close.
    await this.library.gate.exclusive(() => {
      const state = this.#state;
      this.#state = null;
      if (state && state.generation === this.library.generation) {
        state.pool.closeIdle();
        this.library.logout(state.slot, state.loginSession, state.generation);
        swallow(() => this.library.api.C_CloseSession(state.loginSession));
      }
      state?.pool.drop(this.#closedError());
      this.library.release();
    });
  }

  /** Runs one operation on a pooled session, recovering the token first if an earlier call lost it. */
  async #run<T>(what: 'wrap' | 'unwrap', op: (session: Buffer, key: Buffer) => Promise<T>): Promise<T> {
    this.#checkOpen();
    await this.#ready();
    const state = this.#state!;
    return this.library.gate.shared(async () => {
      this.#checkOpen();
      if (state.generation !== this.library.generation) throw this.#unavailable('the module was re-initialised');
      let session: Buffer | undefined;
      try {
        session = await state.pool.acquire();
        const result = await op(session, state.key);
        state.pool.release(session);
        return result;
      } catch (error) {
        if (session) state.pool.discard(session);
        if (error instanceof KeybridgeError) throw error;
        throw this.#diagnose(what, state, error);
      }
    });
  }

  /** Re-initialises a stale module and re-attaches this key; each failure is 'root-key-unavailable'. */
  async #ready(): Promise<void> {
    if (this.#fatal) throw this.#fatal;
    try {
      await this.library.recoverIfStale();
    } catch (error) {
      throw this.#unavailable(`the module does not re-initialise (${ckrName(error)})`, error);
    }
    if (this.#state?.generation === this.library.generation) return;
    this.#state?.pool.drop(this.#unavailable('the module was re-initialised'));
    this.#state = null;
    const generation = this.library.generation;
    try {
      const state = attachToToken(this.library, this.options, this.pin, false);
      if (state.keyId !== this.keyId) {
        throw this.#unavailable(`the key labelled "${this.options.keyLabel}" is no longer the key ${this.keyId}`);
      }
      this.#state = state;
    } catch (error) {
      const failure = error instanceof KeybridgeError ? error : this.#unavailable(ckrName(error), error);
      // A PIN refused after recovery is not retried: more attempts could lock the token.
      if (failure.field === 'rootKey.pinFile') this.#fatal = failure;
      else if (!(error instanceof KeybridgeError)) this.library.markStale(generation);
      throw failure;
    }
  }

  /** Tells a lost token from data that does not open, by asking the token whether it still knows the key. */
  #diagnose(what: 'wrap' | 'unwrap', state: Attachment, error: unknown): KeybridgeError {
    const { api } = this.library;
    let healthy = state.generation === this.library.generation;
    if (healthy) {
      try {
        api.C_GetTokenInfo(state.slot);
        api.C_GetAttributeValue(state.loginSession, state.key, [{ type: pkcs11js().CKA_KEY_TYPE }]);
      } catch {
        healthy = false;
        this.library.markStale(state.generation);
      }
    }
    if (!healthy) return this.#unavailable(`${ckrName(error)}; the next call re-initialises the module`, error);
    if (what === 'unwrap') return this.#doesNotOpen(ckrName(error), error);
    return this.#unavailable(`wrapping failed (${ckrName(error)})`, error);
  }

  #checkOpen(): void {
    if (this.#closed) throw this.#closedError();
  }

  #closedError(): KeybridgeError {
    return new KeybridgeError('root-key-unavailable', `the PKCS#11 root key ${this.keyId} was closed`);
  }

  #unavailable(why: string, cause?: unknown): KeybridgeError {
    return new KeybridgeError('root-key-unavailable', `PKCS#11 token "${this.options.tokenLabel}": ${why}`, { cause });
  }

  #doesNotOpen(why: string, cause?: unknown): KeybridgeError {
    return new KeybridgeError(
      'root-key-unavailable',
      `a sealed data key does not open under root key ${this.keyId} (wrong root key, or the stored key was altered: ${why})`,
      { cause },
    );
  }
}
