/**
 * The key service as its clients (agents) see it. Both `server/` and `agent/` import this
 * file and nothing of each other: the agent reaches the key service only through a
 * `KeyServiceClient`. In the embedded default (`keybridge up`) the client is an in-process
 * binding; with mutual TLS it becomes an HTTPS client and the identity comes from the
 * client certificate instead of from `bindInProcess()`.
 *
 * Everything that crosses this boundary is already opaque to the key service: key ids
 * are HMACs, names and labels are sealed under a key derived from the site secret, and
 * values are `kb1` ciphertexts under a KEK the key service never sees.
 */

export type Environment = 'development' | 'production';
export const ENVIRONMENTS: readonly Environment[] = ['development', 'production'];

/** Who is calling: in production read from the client certificate, never from a body. */
export interface ClientIdentity {
  siteId: string;
  environment: Environment;
  /** The certificate subject or another stable description, for the audit log. */
  subject: string;
}

export interface PutSecretRequest {
  /** Opaque key id: hex HMAC-SHA256(site secret, environment ‖ name). */
  keyId: string;
  /** The key name sealed under the site's name key (base64url). */
  sealedName: string;
  /** The label sealed the same way (base64url), or empty. */
  sealedLabel: string;
  /** Fingerprint of the KEK the value is wrapped with; lets the agent report `kek-mismatch`. */
  kekId: string;
  /** The `kb1.` ciphertext. */
  ciphertext: string;
}

export interface StoredSecretMeta {
  keyId: string;
  sealedName: string;
  sealedLabel: string;
  kekId: string;
  version: number;
  /** ISO 8601. */
  updatedAt: string;
  reads: number;
}

export interface StoredSecret extends StoredSecretMeta {
  ciphertext: string;
}

export interface KeyServiceInfo {
  version: string;
  region: string;
  /** How the key service protects what it stores at rest. */
  atRest: {
    kind: 'software' | 'pkcs11';
    description: string;
    /**
     * Whether the root key is usable right now (a cheap probe, cached a few seconds); absent
     * when the key service cannot tell. False while an HSM token is unreachable: calls that
     * need the root key then fail with 503 `root-key-unavailable` until it is back.
     */
    healthy?: boolean;
    /** Why it is not healthy (no secrets). */
    detail?: string;
  };
}

export interface KeyServiceClient {
  info(): Promise<KeyServiceInfo>;
  put(request: PutSecretRequest): Promise<{ version: number; updatedAt: string }>;
  /** One entry per id, in order; null where the vault has no such key. */
  get(keyIds: readonly string[]): Promise<(StoredSecret | null)[]>;
  list(): Promise<StoredSecretMeta[]>;
  delete(keyId: string): Promise<boolean>;
}
