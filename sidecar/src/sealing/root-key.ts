/**
 * The root key seals every vault's data key at rest. Only `server/` uses it.
 *
 * Two kinds: a software key file (the embedded default, shown as a warning row) and,
 * later, a PKCS#11 HSM key that never leaves the token. The interface is deliberately
 * small: wrapping and unwrapping 32-byte data keys is all the key service needs, and all
 * an HSM has to offer through `CKM_AES_KEY_WRAP_PAD`.
 */
export interface RootKey {
  readonly kind: 'software' | 'pkcs11';
  /** For the status table, e.g. "software root key file /var/lib/keybridge/root.key". */
  readonly description: string;
  /**
   * A short, stable, non-secret fingerprint stored beside each sealed data key, so a
   * rotation can tell which root key sealed what, and a wrong key is reported as such.
   */
  readonly keyId: string;
  /** Seals a data key; the result is safe to store. */
  wrapDataKey(dataKey: Uint8Array): Promise<Uint8Array>;
  /** Opens a sealed data key; rejects with `root-key-unavailable` if it does not open. */
  unwrapDataKey(wrapped: Uint8Array): Promise<Uint8Array>;
  /** Forgets the key material; later calls reject with `root-key-unavailable`. */
  close(): Promise<void>;
  /**
   * Checks, cheaply, that the key is usable right now (the status table's at-rest row):
   * software, the key file still holds this key; PKCS#11, one tiny encryption in the token
   * (which also re-attaches a token that came back). Rejects with `root-key-unavailable`.
   * Optional: a RootKey without it is reported without a health verdict.
   */
  probe?(): Promise<void>;
  /**
   * Destroys the key for good (software: the file is removed; PKCS#11: C_DestroyObject),
   * then closes it. Only a finished root key rotation calls it, once no data key is sealed
   * by this key any more. Optional: a RootKey without it cannot be rotated away from.
   */
  destroy?(): Promise<void>;
}
