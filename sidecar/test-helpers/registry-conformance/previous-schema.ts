import { expect } from 'vitest';
import type { Registry } from '../../src/storage/registry-types.ts';
import { HASH } from './fixtures.ts';

/**
 * A registry as keybridge wrote it before certificate lineage (schema version 3), for the
 * migration tests of both backends: the same rows in plain SQL that SQLite and PostgreSQL
 * both run, and what the migrated registry must answer for them.
 */
export const LINEAGE_MIGRATION_VERSION = 4;

const at = (day: number) => `2024-06-${String(day).padStart(2, '0')}T00:00:00.000Z`;

function cert(serial: string, siteId: string, environment: string, day: number, replaces: string | null, revoked = false): string {
  const revocation = revoked ? `'${at(20)}', 'operator', 'lost laptop'` : 'NULL, NULL, NULL';
  return `INSERT INTO certificates (serial_hex, site_id, environment, fingerprint_sha256, not_before, not_after, issued_at,
      revoked_at, revoked_by, revocation_reason, replaces_serial)
    VALUES ('${serial}', '${siteId}', '${environment}', '${serial.padEnd(64, '0')}', '${at(day)}', '2030-01-01T00:00:00.000Z', '${at(day)}',
      ${revocation}, ${replaces === null ? 'NULL' : `'${replaces}'`})`;
}

/** One statement per entry (PostgreSQL's extended protocol takes one at a time). */
export const VERSION_3_ROWS: readonly string[] = [
  `INSERT INTO accounts (account_id, email, password_hash, created_at) VALUES ('acct_old', 'old@example.org', '${HASH}', '${at(1)}')`,
  `INSERT INTO sites (site_id, account_id, name, region, partner, production_approval, production_approval_at, created_at)
    VALUES ('site_old1', 'acct_old', 'Old shop', 'eu', NULL, 'approved', '${at(3)}', '${at(1)}')`,
  `INSERT INTO sites (site_id, account_id, name, region, partner, production_approval, production_approval_at, created_at)
    VALUES ('site_pan1', 'acct_old', 'Old live', 'eu', 'pantheon', 'none', NULL, '${at(1)}')`,
  cert('a01', 'site_old1', 'development', 1, null),
  cert('a02', 'site_old1', 'development', 2, 'a01'),
  cert('a03', 'site_old1', 'production', 3, 'a02'),
  cert('a04', 'site_old1', 'production', 4, 'a03'),
  cert('a05', 'site_old1', 'development', 5, 'a02', true),
  cert('b01', 'site_pan1', 'development', 1, null),
  cert('b02', 'site_pan1', 'production', 2, 'b01'),
];

/** The migrated registry keeps every row, infers each origin from its parent, and takes the new rules. */
export async function expectVersion3RowsMigrated(registry: Registry): Promise<void> {
  const origins = Object.fromEntries(
    [...(await registry.listCertificates('site_old1')), ...(await registry.listCertificates('site_pan1'))].map((c) => [
      c.serialHex,
      c.origin,
    ]),
  );
  expect(origins).toEqual({
    a01: 'registration',
    a02: 'renewal',
    a03: 'production',
    a04: 'renewal',
    a05: 'renewal',
    b01: 'partner-binding',
    b02: 'partner-binding',
  });
  expect(await registry.getCertificate('a04')).toMatchObject({
    parentSerial: 'a03',
    supersededAt: null,
    lastSeenAt: null,
    revokedAt: null,
  });
  expect(await registry.getCertificate('a05')).toMatchObject({ revokedAt: at(20), revokedBy: 'operator', revocationReason: 'lost laptop' });
  // An approval given under the old per-site rule is kept, as a request of no particular certificate.
  expect(await registry.getSite('site_old1')).toMatchObject({ productionApproval: 'approved', productionRequestedBy: null });
  expect((await registry.getAccount('acct_old'))?.email).toBe('old@example.org');

  // The new rules hold for old rows: a renewal supersedes, a lineage revocation ends the old chain.
  await registry.recordCertificate({
    serialHex: 'a06',
    siteId: 'site_old1',
    environment: 'production',
    fingerprintSha256: 'f'.repeat(64),
    notBefore: at(21),
    notAfter: '2030-01-01T00:00:00.000Z',
    issuedAt: at(21),
    origin: 'renewal',
    parentSerial: 'a04',
    supersedeParentAt: at(22),
  });
  expect((await registry.getCertificate('a04'))?.supersededAt).toBe(at(22));
  const revoked = await registry.revokeLineage({
    siteId: 'site_old1',
    environment: 'development',
    issuedUpTo: at(25),
    at: at(25),
    by: 'owner',
    reason: 'test',
  });
  expect(revoked).toEqual(['a01', 'a02']);
  expect((await registry.getCertificate('a06'))?.revokedAt).toBeNull();
}
