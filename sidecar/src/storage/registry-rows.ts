import { KeybridgeError } from '../errors.ts';
import { ENVIRONMENTS } from '../protocol/keyservice.ts';
import { certificateEndedAt, requireApproval, requireOrigin, requireSerial } from './registry-types.ts';
import type {
  AccountRecord,
  CertificateOrigin,
  CertificateRecord,
  NewCertificate,
  ProductionApproval,
  ProductionRequestState,
  SiteRecord,
} from './registry-types.ts';

/** Registry row mapping and small input checks, shared by sqlite/registry.ts and postgres/registry.ts. */

export type Row = Record<string, unknown>;

export const SITE_COLUMNS = 'site_id, account_id, name, region, partner, production_approval, production_requested_by, created_at';
export const CERTIFICATE_COLUMNS = `serial_hex, site_id, environment, fingerprint_sha256, not_before, not_after, issued_at, origin,
  replaces_serial, superseded_at, revoked_at, revoked_by, revocation_reason, last_seen_at`;

export function requireText(value: unknown, field: string): string {
  if (typeof value !== 'string' || value === '') {
    throw new KeybridgeError('invalid-field', `${field} must be a non-empty string`, { field });
  }
  return value;
}

/** A new certificate's fields checked as both backends store them (canonical serials). */
export interface CheckedCertificate {
  serial: string;
  parent: string | null;
  supersedeParentAt: string | null;
  requireLiveParent: boolean;
}

export function checkNewCertificate(record: NewCertificate): CheckedCertificate {
  const serial = requireSerial(record.serialHex, 'serialHex');
  const parent = record.parentSerial == null ? null : requireSerial(record.parentSerial, 'parentSerial');
  if (!ENVIRONMENTS.includes(record.environment)) {
    throw new KeybridgeError('invalid-field', 'unknown environment', { field: 'environment' });
  }
  requireOrigin(record.origin);
  const supersedeParentAt = record.supersedeParentAt ?? null;
  if (supersedeParentAt !== null && parent === null) {
    throw new KeybridgeError('invalid-field', 'only a certificate with a parent can supersede it', { field: 'supersedeParentAt' });
  }
  return { serial, parent, supersedeParentAt, requireLiveParent: record.requireLiveParent ?? true };
}

/** The columns of a new certificate's row and their values, in one order for both backends. */
export const CERTIFICATE_INSERT_COLUMNS =
  'serial_hex, site_id, environment, fingerprint_sha256, not_before, not_after, issued_at, origin, replaces_serial';

export function certificateInsertValues(record: NewCertificate, checked: CheckedCertificate): unknown[] {
  return [
    checked.serial,
    record.siteId,
    record.environment,
    record.fingerprintSha256,
    record.notBefore,
    record.notAfter,
    record.issuedAt,
    record.origin,
    checked.parent,
  ];
}

/**
 * The parameters of the production request's compare-and-set, checked: new approval, new
 * serial, time, site, expected approval, expected serial.
 */
export function approvalChangeValues(siteId: string, from: ProductionRequestState, to: ProductionRequestState, at: string): unknown[] {
  return [
    requireApproval(to.approval),
    optionalSerial(to.requestedBy),
    at,
    siteId,
    requireApproval(from.approval),
    optionalSerial(from.requestedBy),
  ];
}

/** Why a parent cannot have a child now, or null: the refusal `recordCertificate` throws. */
export function parentRefusal(parent: Row | undefined, siteId: string, issuedAt: string, requireLive: boolean): KeybridgeError | null {
  if (!parent || parent.site_id !== siteId) {
    return new KeybridgeError('invalid-field', 'no such certificate of this site', { field: 'parentSerial' });
  }
  const ended = certificateEndedAt(
    {
      revokedAt: parent.revoked_at === null ? null : String(parent.revoked_at),
      supersededAt: parent.superseded_at === null ? null : String(parent.superseded_at),
    },
    issuedAt,
  );
  return requireLive && ended
    ? new KeybridgeError('certificate-revoked', 'the certificate that asked for this one was revoked meanwhile')
    : null;
}

/** A serial or null, canonical (a production request's `requestedBy`). */
export function optionalSerial(serialHex: string | null | undefined): string | null {
  return serialHex == null ? null : requireSerial(serialHex, 'requestedBy');
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
    productionRequestedBy: row.production_requested_by === null ? null : String(row.production_requested_by),
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
    origin: String(row.origin) as CertificateOrigin,
    parentSerial: text(row.replaces_serial),
    supersededAt: text(row.superseded_at),
    revokedAt: text(row.revoked_at),
    revokedBy: text(row.revoked_by),
    revocationReason: text(row.revocation_reason),
    lastSeenAt: text(row.last_seen_at),
  };
}
