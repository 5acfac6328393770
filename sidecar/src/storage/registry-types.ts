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
 * - `invalid-field` (with `field`): an unknown `accountId` / `siteId` / `replacesSerial`
 *   (or one of another site), a serial already recorded, an empty email, an approval or
 *   environment outside its set, a serial that is not hex;
 * - `storage-failure`: the backend failed or is closed.
 */

export type ProductionApproval = 'none' | 'pending' | 'approved' | 'denied';
export const PRODUCTION_APPROVALS: readonly ProductionApproval[] = ['none', 'pending', 'approved', 'denied'];

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
  productionApproval: ProductionApproval;
  createdAt: string;
}

export interface CertificateRecord {
  /** Canonical: lowercase hex without leading zeros (see `canonicalSerial`). */
  serialHex: string;
  siteId: string;
  environment: Environment;
  fingerprintSha256: string;
  notBefore: string;
  notAfter: string;
  issuedAt: string;
  revokedAt: string | null;
  revokedBy: string | null;
  revocationReason: string | null;
  /** The certificate this one replaces (renewal, move to production): same site, canonical. */
  replacesSerial: string | null;
}

export type NewCertificate = Omit<CertificateRecord, 'revokedAt' | 'revokedBy' | 'revocationReason'>;

export interface SiteFilter {
  accountId?: string;
  productionApproval?: ProductionApproval;
}

export interface Registry {
  /** Duplicate email (case-insensitive, trimmed) → `account-exists`. `accountId` is generated. */
  createAccount(input: { email: string; passwordHash: string; at: string }): Promise<AccountRecord>;
  /** Case-insensitive, trimmed; null if none. */
  findAccountByEmail(email: string): Promise<AccountRecord | null>;

  /** `siteId` is generated (`site_` + 16 random bytes base64url); approval starts at `none`. */
  createSite(input: { accountId: string; name: string; region: string; partner?: string | null; at: string }): Promise<SiteRecord>;
  getSite(siteId: string): Promise<SiteRecord | null>;
  /** Oldest `createdAt` first; equal times in creation order. */
  listSites(filter?: SiteFilter): Promise<SiteRecord[]>;
  /** False if the site is unknown. */
  setProductionApproval(siteId: string, approval: ProductionApproval, at: string): Promise<boolean>;

  /** Serials are canonicalised; a serial already recorded → `invalid-field` (`serialHex`). */
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
