/**
 * The key service as its clients (agents) see it. Both `server/` and `agent/` import this
 * file and nothing of each other: the agent reaches the key service only through a
 * `KeyServiceClient` over mutual TLS (agent/keyservice/https-client.ts), also inside
 * `keybridge up`; the key service reads the identity from the client certificate.
 *
 * Everything that crosses this boundary is already opaque to the key service: key ids
 * are HMACs, names and labels are sealed under a key derived from the site secret, and
 * values are `kb1` ciphertexts under a KEK the key service never sees.
 */

import type { Environment } from '../crypto/environment.ts';

export { ENVIRONMENTS, type Environment } from '../crypto/environment.ts';

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

/**
 * One line of a site's usage report: how often code of the site read a key (and how often the
 * key's allow list refused it) since the last report. `caller` names the code from the path of
 * its file (`plugin:<folder>`, `mu-plugin:<file>`, `theme:<folder>`, `core`, `unknown`); the
 * key is named by its opaque id only. The key service records each line in its audit.
 */
export interface UsageRecord {
  keyId: string;
  caller: string;
  reads: number;
  denied: number;
  /** ISO 8601, second precision, UTC. */
  lastReadAt: string;
}

/** Who may be named as a caller in a usage record (the agent and the key service check it alike). */
export const USAGE_CALLER_PATTERN = /^(?:(?:plugin|mu-plugin|theme):[A-Za-z0-9._-]{1,100}|core|unknown)$/;
/** Most records in one usage report. */
export const MAX_USAGE_RECORDS = 500;

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

/** What the key service says of the certificate a call presented (`/ks/v1/site/whoami`). */
export interface CertificateVerdict {
  siteId: string;
  environment: Environment;
  serial: string;
}

export interface KeyServiceClient {
  info(): Promise<KeyServiceInfo>;
  /**
   * Who the key service takes this client for; rejects with its reason when it refuses the
   * certificate (`certificate-revoked`, …), as any call does.
   */
  whoami(): Promise<CertificateVerdict>;
  put(request: PutSecretRequest): Promise<{ version: number; updatedAt: string }>;
  /** One entry per id, in order; null where the vault has no such key. */
  get(keyIds: readonly string[]): Promise<(StoredSecret | null)[]>;
  list(): Promise<StoredSecretMeta[]>;
  delete(keyId: string): Promise<boolean>;
}

/**
 * The key service's HTTP paths: the one place they are spelled. Everything under `/ks/v1/site/`
 * needs a client certificate (server/http/app.ts); `info`, `register` and `reissue` do not
 * (a re-issue presents a revoked one).
 */
export const KS_PATHS = {
  info: '/ks/v1/info',
  register: '/ks/v1/register',
  /** After a revocation: the host's old certificate names the site, the account password proves it. */
  reissue: '/ks/v1/reissue',
  /** The prefix of every route that needs a client certificate. */
  site: '/ks/v1/site',
  secretsPut: '/ks/v1/site/secrets/put',
  secretsGet: '/ks/v1/site/secrets/get',
  secretsList: '/ks/v1/site/secrets/list',
  secretsDelete: '/ks/v1/site/secrets/delete',
  partnerRegister: '/ks/v1/site/partner/register',
  whoami: '/ks/v1/site/whoami',
  certificatesRenew: '/ks/v1/site/certificates/renew',
  certificatesRevoke: '/ks/v1/site/certificates/revoke',
  /** A production certificate signs for another production host. */
  certificatesHost: '/ks/v1/site/certificates/host',
  production: '/ks/v1/site/production',
  usage: '/ks/v1/site/usage',
} as const;
