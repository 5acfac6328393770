import { createHash, randomBytes } from 'node:crypto';
import { KeybridgeError, type ProblemType } from '../../errors.ts';
import { ckrName, type Handle, type Pkcs11Library, pkcs11js, swallow } from './library.ts';
import { SessionPool } from './sessions.ts';

/**
 * Finding (or creating) the root key in its token: done when the root key opens, and again
 * after every re-initialisation, because handles do not survive C_Finalize.
 *
 * Fully synchronous on purpose: two root keys opening in one process cannot interleave
 * between "no key with this label" and "generate one", so they cannot create two.
 */

export type Mechanism = 'aes-kwp' | 'aes-gcm';

export interface Attachment {
  /** The library generation these handles belong to. */
  generation: number;
  slot: Handle;
  key: Handle;
  keyId: string;
  mechanism: Mechanism;
  /** Held open for the attachment's life: closing a token's last session logs the user out. */
  loginSession: Handle;
  pool: SessionPool;
}

export interface AttachOptions {
  tokenLabel: string;
  keyLabel: string;
  pinFile: string;
  createIfMissing?: boolean;
  mechanism?: 'auto' | Mechanism;
  maxSessions?: number;
  /** CKA_ID (hex) for a key generated here; random when absent. */
  keyId?: string;
}

/**
 * `first`: opening (mistakes are 'config-invalid', naming the field) rather than recovering
 * (the same findings are 'root-key-unavailable': the configuration worked before).
 */
export function attachToToken(library: Pkcs11Library, options: AttachOptions, pin: string, first: boolean): Attachment {
  const p = pkcs11js();
  const { api } = library;
  const fail = (field: string, why: string, cause?: unknown): KeybridgeError => {
    const type: ProblemType = first ? 'config-invalid' : 'root-key-unavailable';
    return new KeybridgeError(type, `PKCS#11 token "${options.tokenLabel}": ${why}`, { field, cause });
  };
  const generation = library.generation;
  const slot = library.findSlot(options.tokenLabel);
  if (!slot) throw fail('rootKey.tokenLabel', `no initialised token with this label in ${library.path}`);
  const mechanism = chooseMechanism(library, slot, options.mechanism ?? 'auto', fail);

  const loginSession = api.C_OpenSession(slot, p.CKF_SERIAL_SESSION);
  let loggedIn = false;
  try {
    const refused = library.login(loginSession, slot, pin);
    // The PIN itself is never part of a message.
    if (refused) throw fail('rootKey.pinFile', `the token refused the PIN in ${options.pinFile} (${refused})`);
    loggedIn = true;

    const found = findKeys(library, loginSession, options.keyLabel);
    if (found.length > 1) throw fail('rootKey.keyLabel', `${found.length} secret keys are labelled "${options.keyLabel}"`);
    let key = found[0];
    if (!key) {
      if (!first || !options.createIfMissing) {
        throw fail('rootKey.keyLabel', `no secret key labelled "${options.keyLabel}" (set createIfMissing to generate one)`);
      }
      key = generateKey(library, slot, options.keyLabel, options.keyId);
    }
    const keyId = checkKey(library, loginSession, slot, key, options, fail);
    const pool = new SessionPool(library, slot, options.maxSessions ?? 8);
    return { generation, slot, key, keyId, mechanism, loginSession, pool };
  } catch (error) {
    if (loggedIn) library.logout(slot, loginSession, generation);
    swallow(() => api.C_CloseSession(loginSession));
    throw error;
  }
}

type Fail = (field: string, why: string, cause?: unknown) => KeybridgeError;

function chooseMechanism(library: Pkcs11Library, slot: Handle, wanted: 'auto' | Mechanism, fail: Fail): Mechanism {
  const p = pkcs11js();
  const offered = new Set(library.api.C_GetMechanismList(slot));
  const encrypts = (mechanism: number): boolean => {
    if (!offered.has(mechanism)) return false;
    const flags = library.api.C_GetMechanismInfo(slot, mechanism).flags;
    return (flags & p.CKF_ENCRYPT) !== 0 && (flags & p.CKF_DECRYPT) !== 0;
  };
  if (wanted !== 'aes-gcm' && encrypts(p.CKM_AES_KEY_WRAP_PAD)) return 'aes-kwp';
  if (wanted !== 'aes-kwp' && encrypts(p.CKM_AES_GCM)) return 'aes-gcm';
  if (wanted !== 'auto') return failWith(fail('rootKey.mechanism', `the module does not offer ${wanted} for C_Encrypt/C_Decrypt`));
  return failWith(fail('rootKey.module', 'the module offers neither CKM_AES_KEY_WRAP_PAD nor CKM_AES_GCM for C_Encrypt/C_Decrypt'));
}

function failWith(error: KeybridgeError): never {
  throw error;
}

function findKeys(library: Pkcs11Library, session: Handle, label: string): Handle[] {
  const p = pkcs11js();
  const { api } = library;
  api.C_FindObjectsInit(session, [
    { type: p.CKA_CLASS, value: p.CKO_SECRET_KEY },
    { type: p.CKA_TOKEN, value: true },
    { type: p.CKA_LABEL, value: label },
  ]);
  try {
    return api.C_FindObjects(session, 16);
  } finally {
    api.C_FindObjectsFinal(session);
  }
}

/**
 * Generated inside the token, never extractable: no copy of the root key exists outside the
 * HSM (backups are the HSM's own business). CKA_ID is 8 random bytes (or those a rotation
 * chose), the key id shown and stored beside sealed data keys.
 */
function generateKey(library: Pkcs11Library, slot: Handle, label: string, idHex?: string): Handle {
  const p = pkcs11js();
  const { api } = library;
  const session = api.C_OpenSession(slot, p.CKF_SERIAL_SESSION | p.CKF_RW_SESSION);
  try {
    return api.C_GenerateKey(session, { mechanism: p.CKM_AES_KEY_GEN }, [
      { type: p.CKA_CLASS, value: p.CKO_SECRET_KEY },
      { type: p.CKA_KEY_TYPE, value: p.CKK_AES },
      { type: p.CKA_VALUE_LEN, value: 32 },
      { type: p.CKA_TOKEN, value: true },
      { type: p.CKA_PRIVATE, value: true },
      { type: p.CKA_SENSITIVE, value: true },
      { type: p.CKA_EXTRACTABLE, value: false },
      { type: p.CKA_ENCRYPT, value: true },
      { type: p.CKA_DECRYPT, value: true },
      { type: p.CKA_WRAP, value: true },
      { type: p.CKA_UNWRAP, value: true },
      { type: p.CKA_LABEL, value: label },
      { type: p.CKA_ID, value: idHex ? Buffer.from(idHex, 'hex') : randomBytes(8) },
    ]);
  } catch (error) {
    throw new KeybridgeError('config-invalid', `cannot generate the root key in the token (${ckrName(error)})`, {
      field: 'rootKey.keyLabel',
      cause: error,
    });
  } finally {
    swallow(() => api.C_CloseSession(session));
  }
}

/**
 * Refuses a key found by label that is not a usable, non-extractable AES key: an extractable
 * root key would defeat the point of the HSM. Returns the key id: CKA_ID in hex, or, for a
 * key made by an HSM admin without one, a digest of the token serial and the label.
 */
function checkKey(library: Pkcs11Library, session: Handle, slot: Handle, key: Handle, options: AttachOptions, fail: Fail): string {
  const p = pkcs11js();
  const attrs = library.api.C_GetAttributeValue(session, key, [
    { type: p.CKA_KEY_TYPE },
    { type: p.CKA_SENSITIVE },
    { type: p.CKA_EXTRACTABLE },
    { type: p.CKA_ENCRYPT },
    { type: p.CKA_DECRYPT },
    { type: p.CKA_ID },
  ]);
  const value = (type: number): Buffer => attrs.find((a) => a.type === type)?.value ?? Buffer.alloc(0);
  const flag = (type: number): boolean => value(type).length > 0 && value(type)[0] !== 0;
  const label = `the key labelled "${options.keyLabel}"`;
  if (value(p.CKA_KEY_TYPE).length < 4 || value(p.CKA_KEY_TYPE).readUInt32LE(0) !== p.CKK_AES) {
    throw fail('rootKey.keyLabel', `${label} is not an AES key`);
  }
  if (!flag(p.CKA_ENCRYPT) || !flag(p.CKA_DECRYPT)) {
    throw fail('rootKey.keyLabel', `${label} does not allow CKA_ENCRYPT and CKA_DECRYPT`);
  }
  if (flag(p.CKA_EXTRACTABLE) || !flag(p.CKA_SENSITIVE)) {
    throw fail('rootKey.keyLabel', `${label} can leave the token (CKA_EXTRACTABLE or not CKA_SENSITIVE); use a non-extractable key`);
  }
  const id = value(p.CKA_ID);
  if (id.length > 0) return id.toString('hex');
  const serial = library.api.C_GetTokenInfo(slot).serialNumber.trim();
  return createHash('sha256').update(`keybridge pkcs11 key id v1\0${serial}\0${options.keyLabel}`).digest('hex').slice(0, 16);
}
