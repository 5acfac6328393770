import { randomBytes } from 'node:crypto';
import { KeybridgeError } from '../errors.ts';
import type { Environment } from '../protocol/keyservice.ts';

/**
 * The key service's registry: accounts, sites and certificates, behind one async interface
 * so SQLite (embedded default) and, later, PostgreSQL can both implement it. Both must pass
 * `registryConformanceSuite()` in `sidecar/test-helpers/registry-conformance/`.
 *
 * The registry holds no secret: emails, site names and certificate metadata are plain, a
 * password is stored only as the hash the caller made. Timestamps are ISO 8601 strings
 * given by the caller (`at`), compared as text.
 *
 * Errors are `KeybridgeError`s with a stable type, the same on every backend:
 * - `account-exists`: `createAccount` with an email already registered (case-insensitive);
 * - `invalid-field` (with `field`): an unknown `accountId` / `siteId` / `parentSerial`
 *   (or one of another site), a serial already recorded, an empty email, an approval,
 *   environment or origin outside its set, a serial that is not hex;
 * - `certificate-revoked`: `recordCertificate` for a parent that is revoked or superseded
 *   (unless `requireLiveParent` is false), so a renewal racing a revocation never outlives it;
 * - `storage-failure`: the backend failed or is closed.
 */

export type ProductionApproval = 'none' | 'pending' | 'approved' | 'denied';
export const PRODUCTION_APPROVALS: readonly ProductionApproval[] = ['none', 'pending', 'approved', 'denied'];

/** A site's production request: its approval state and the certificate it is about. */
export interface ProductionRequestState {
  approval: ProductionApproval;
  requestedBy: string | null;
}

export interface AccountRecord {
  accountId: string;
  /** Stored lowercased and trimmed. */
  email: string;
  passwordHash: string;
  createdAt: string;
}

export interface SiteRecord {
  siteId: string;
  accountId: string;
  name: string;
  region: string;
  /** The hosting partner that issues this site's certificates, e.g. `pantheon`; null if none. */
  partner: string | null;
  /**
   * The state of the site's one open production request (`approval` policy): the operator
   * approves or denies that request, not the site, and the approval is spent by the
   * certificate it issues.
   */
  productionApproval: ProductionApproval;
  /** The serial of the development certificate whose request `productionApproval` is about; null if none. */
  productionRequestedBy: string | null;
  createdAt: string;
}

/**
 * Where a certificate came from (DESIGN.md, Certificates): `registration`; `renewal` (same
 * subject) or `custom` (the owner's new subject), both replacing their parent; `production`
 * (the move, signed by a development certificate, with the account password);
 * `production-host` (a production certificate signing for another production host);
 * `partner-binding` (the operator, for a partner platform); `reissue` (the account password,
 * after a revocation).
 */
export type CertificateOrigin = 'registration' | 'renewal' | 'custom' | 'production' | 'production-host' | 'partner-binding' | 'reissue';
export const CERTIFICATE_ORIGINS: readonly CertificateOrigin[] = [
  'registration',
  'renewal',
  'custom',
  'production',
  'production-host',
  'partner-binding',
  'reissue',
];

export interface CertificateRecord {
  /** Canonical: lowercase hex without leading zeros (see `canonicalSerial`). */
  serialHex: string;
  siteId: string;
  environment: Environment;
  fingerprintSha256: string;
  notBefore: string;
  notAfter: string;
  issuedAt: string;
  origin: CertificateOrigin;
  /**
   * The certificate that asked for this one (renewal, custom, production, production host,
   * re-issue): same site, canonical; null for a registration or what the operator issued.
   * (Stored in the column `replaces_serial`, its name before certificates had a lineage.)
   */
  parentSerial: string | null;
  /** Set on a certificate a renewal replaced: refused from this time on (the end of the overlap). */
  supersededAt: string | null;
  revokedAt: string | null;
  revokedBy: string | null;
  revocationReason: string | null;
  /** When the key service last identified a client by it (written at most about once a minute). */
  lastSeenAt: string | null;
}

export type NewCertificate = Omit<CertificateRecord, 'supersededAt' | 'revokedAt' | 'revokedBy' | 'revocationReason' | 'lastSeenAt'> & {
  /** Renewal: the parent is refused from this time on (recorded in the same transaction). */
  supersedeParentAt?: string | null;
  /**
   * Whether the parent must still be accepted at `issuedAt` (not revoked, not superseded):
   * default true. False only for a re-issue, which the account password authorises after a
   * revocation.
   */
  requireLiveParent?: boolean;
};

/** Whether a certificate is refused at `at` (revoked, or replaced by a renewal whose overlap ended). */
export function certificateEndedAt(record: Pick<CertificateRecord, 'revokedAt' | 'supersededAt'>, at: string): boolean {
  return record.revokedAt !== null || (record.supersededAt !== null && record.supersededAt <= at);
}

export interface LineageRevocation {
  siteId: string;
  environment: Environment;
  /** Every certificate of the site and environment issued up to this time (inclusive). */
  issuedUpTo: string;
  at: string;
  by: string;
  reason: string;
}

export interface SiteFilter {
  accountId?: string;
  productionApproval?: ProductionApproval;
}

export interface Registry {
  /** Duplicate email (case-insensitive, trimmed) → `account-exists`. `accountId` is generated. */
  createAccount(input: { email: string; passwordHash: string; at: string }): Promise<AccountRecord>;
  /** Case-insensitive, trimmed; null if none. */
  findAccountByEmail(email: string): Promise<AccountRecord | null>;
  getAccount(accountId: string): Promise<AccountRecord | null>;
  /** Replaces the stored hash (the embedded `keybridge up` gives its password-less account one); false if unknown. */
  setAccountPassword(accountId: string, passwordHash: string): Promise<boolean>;

  /** `siteId` is generated (`site_` + 16 random bytes base64url); approval starts at `none`. */
  createSite(input: { accountId: string; name: string; region: string; partner?: string | null; at: string }): Promise<SiteRecord>;
  getSite(siteId: string): Promise<SiteRecord | null>;
  /** Oldest `createdAt` first; equal times in creation order. */
  listSites(filter?: SiteFilter): Promise<SiteRecord[]>;
  /** False if the site is unknown. `requestedBy`: the serial the request is about (default null). */
  setProductionApproval(siteId: string, approval: ProductionApproval, at: string, requestedBy?: string | null): Promise<boolean>;
  /**
   * Compare-and-set of the production request: changes it to `to` only if it is `from` now
   * (approval and serial). Atomic: of concurrent calls with the same `from`, one wins.
   */
  updateProductionApproval(siteId: string, from: ProductionRequestState, to: ProductionRequestState, at: string): Promise<boolean>;

  /**
   * Serials are canonicalised; a serial already recorded → `invalid-field` (`serialHex`); a
   * parent that is no longer accepted → `certificate-revoked`. Serialised with
   * `revokeLineage` of the same site, so a certificate is either recorded before a revocation
   * (and revoked by it) or refused.
   */
  recordCertificate(record: NewCertificate): Promise<void>;
  /** Any hex spelling of the serial finds it (case, leading zeros); null if unknown. */
  getCertificate(serialHex: string): Promise<CertificateRecord | null>;
  /** Newest `issuedAt` first; equal times: the later recorded first. */
  listCertificates(siteId: string): Promise<CertificateRecord[]>;
  /**
   * Idempotent: false if the serial is unknown, else true. Revoking again keeps the first
   * `revokedAt`, `revokedBy` and `revocationReason`; a revocation is never undone.
   */
  revokeCertificate(serialHex: string, input: { at: string; by: string; reason: string }): Promise<boolean>;
  /**
   * Revokes every certificate of one site and environment issued up to `issuedUpTo` that is
   * not revoked yet (superseded ones included); returns their serials. Certificates revoked
   * before keep their first revocation.
   */
  revokeLineage(input: LineageRevocation): Promise<string[]>;
  /** Sets `lastSeenAt` to `at` unless it is already as late; nothing for an unknown serial. */
  touchCertificate(serialHex: string, at: string): Promise<void>;

  /** Records a one-time nonce (production requests); false if this site used it before (replay). Atomic. */
  useNonce(siteId: string, nonce: string, at: string): Promise<boolean>;

  /** Every later call rejects with `storage-failure`; closing twice is fine. */
  close(): Promise<void>;
}

/** The stored form of an email: trimmed, lowercased (locale-independent). */
export function normalizeEmail(email: string): string {
  const normalized = String(email).trim().toLowerCase();
  if (normalized === '') throw new KeybridgeError('invalid-field', 'the email is empty', { field: 'email' });
  return normalized;
}

/**
 * A certificate serial as one spelling: lowercase hex without leading zeros ("0" for zero),
 * so node:crypto's `X509Certificate.serialNumber` (uppercase) and node-forge's
 * `serialNumber` (lowercase, maybe a 00 pad byte) find the same record. Null if not hex.
 */
export function canonicalSerial(serialHex: string): string | null {
  if (typeof serialHex !== 'string' || !/^[0-9a-fA-F]{1,128}$/.test(serialHex)) return null;
  return serialHex.toLowerCase().replace(/^0+(?=.)/, '');
}

export function requireSerial(serialHex: string, field: string): string {
  const serial = canonicalSerial(serialHex);
  if (serial === null) throw new KeybridgeError('invalid-field', 'not a hexadecimal serial number', { field });
  return serial;
}

export function requireOrigin(origin: string): CertificateOrigin {
  if (!(CERTIFICATE_ORIGINS as readonly string[]).includes(origin)) {
    throw new KeybridgeError('invalid-field', 'unknown certificate origin', { field: 'origin' });
  }
  return origin as CertificateOrigin;
}

export function requireApproval(approval: string): ProductionApproval {
  if (!(PRODUCTION_APPROVALS as readonly string[]).includes(approval)) {
    throw new KeybridgeError('invalid-field', 'unknown production approval state', { field: 'productionApproval' });
  }
  return approval as ProductionApproval;
}

export function newAccountId(): string {
  return `acct_${randomBytes(16).toString('base64url')}`;
}

export function newSiteId(): string {
  return `site_${randomBytes(16).toString('base64url')}`;
}
