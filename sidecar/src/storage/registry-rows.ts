import { KeybridgeError } from '../errors.ts';
import type { AccountRecord, CertificateRecord, ProductionApproval, SiteRecord } from './registry-types.ts';

/** Registry row mapping and small input checks, shared by sqlite/registry.ts and postgres/registry.ts. */

export type Row = Record<string, unknown>;

export const SITE_COLUMNS = 'site_id, account_id, name, region, partner, production_approval, created_at';
export const CERTIFICATE_COLUMNS = `serial_hex, site_id, environment, fingerprint_sha256, not_before, not_after, issued_at,
  revoked_at, revoked_by, revocation_reason, replaces_serial`;

export function requireText(value: unknown, field: string): string {
  if (typeof value !== 'string' || value === '') {
    throw new KeybridgeError('invalid-field', `${field} must be a non-empty string`, { field });
  }
  return value;
}

export function accountFromRow(row: Row): AccountRecord {
  return {
    accountId: String(row.account_id),
    email: String(row.email),
    passwordHash: String(row.password_hash),
    createdAt: String(row.created_at),
  };
}

export function siteFromRow(row: Row): SiteRecord {
  return {
    siteId: String(row.site_id),
    accountId: String(row.account_id),
    name: String(row.name),
    region: String(row.region),
    partner: row.partner === null ? null : String(row.partner),
    productionApproval: String(row.production_approval) as ProductionApproval,
    createdAt: String(row.created_at),
  };
}

export function certificateFromRow(row: Row): CertificateRecord {
  const text = (value: unknown): string | null => (value === null ? null : String(value));
  return {
    serialHex: String(row.serial_hex),
    siteId: String(row.site_id),
    environment: String(row.environment) as CertificateRecord['environment'],
    fingerprintSha256: String(row.fingerprint_sha256),
    notBefore: String(row.not_before),
    notAfter: String(row.not_after),
    issuedAt: String(row.issued_at),
    revokedAt: text(row.revoked_at),
    revokedBy: text(row.revoked_by),
    revocationReason: text(row.revocation_reason),
    replacesSerial: text(row.replaces_serial),
  };
}
