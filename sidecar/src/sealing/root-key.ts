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
}
