import type pg from 'pg';
import { KeybridgeError } from '../../errors.ts';
import { ENVIRONMENTS } from '../../protocol/keyservice.ts';
import { CERTIFICATE_COLUMNS, CERTIFICATE_INSERT_COLUMNS, certificateFromRow, certificateInsertValues } from '../registry-rows.ts';
import { checkNewCertificate, parentRefusal, requireText, type Row } from '../registry-rows.ts';
import { canonicalSerial, type CertificateRecord, type LineageRevocation, type NewCertificate } from '../registry-types.ts';
import { PG_LOCK_CLASS_SITE_CERTIFICATES } from './schema.ts';

/**
 * The certificate half of the PostgreSQL registry (registry.ts delegates here), mirroring
 * sqlite/registry-certificates.ts. Recording a certificate and revoking a lineage take the
 * same per-site advisory lock inside their transaction, so on any number of server nodes a
 * certificate recorded while its lineage is revoked is either revoked with it or refused
 * (without the lock, a READ COMMITTED UPDATE would not see a row committed after it began).
 */
type Transaction = <T>(operation: string, body: (client: pg.PoolClient) => Promise<T>) => Promise<T>;

const lockSite = (client: pg.PoolClient, siteId: string) =>
  client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [PG_LOCK_CLASS_SITE_CERTIFICATES, siteId]);

export async function recordCertificate(transaction: Transaction, record: NewCertificate): Promise<void> {
  const checked = checkNewCertificate(record);
  await transaction('recording a certificate', async (client) => {
    await lockSite(client, String(record.siteId));
    const site = await client.query('SELECT 1 FROM sites WHERE site_id = $1', [record.siteId]);
    if (site.rows.length === 0) throw new KeybridgeError('invalid-field', 'no such site', { field: 'siteId' });
    if (checked.parent !== null) {
      const { rows } = await client.query<Row>('SELECT site_id, revoked_at, superseded_at FROM certificates WHERE serial_hex = $1', [
        checked.parent,
      ]);
      const refusal = parentRefusal(rows[0], record.siteId, record.issuedAt, checked.requireLiveParent);
      if (refusal) throw refusal;
    }
    const { rowCount } = await client.query(
      `INSERT INTO certificates (${CERTIFICATE_INSERT_COLUMNS})
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (serial_hex) DO NOTHING`,
      certificateInsertValues(record, checked),
    );
    if (rowCount !== 1) {
      throw new KeybridgeError('invalid-field', `certificate serial ${checked.serial} is already recorded`, { field: 'serialHex' });
    }
    if (checked.supersedeParentAt !== null) {
      // An earlier end (a second renewal of the same parent) is kept.
      await client.query(
        `UPDATE certificates SET superseded_at = $1 WHERE serial_hex = $2 AND (superseded_at IS NULL OR superseded_at > $1)`,
        [checked.supersedeParentAt, checked.parent],
      );
    }
  });
}

export async function getCertificate(pool: pg.Pool, serialHex: string): Promise<CertificateRecord | null> {
  const serial = canonicalSerial(serialHex);
  if (serial === null) return null;
  const { rows } = await pool.query<Row>(`SELECT ${CERTIFICATE_COLUMNS} FROM certificates WHERE serial_hex = $1`, [serial]);
  return rows.length ? certificateFromRow(rows[0]) : null;
}

export async function listCertificates(pool: pg.Pool, siteId: string): Promise<CertificateRecord[]> {
  const { rows } = await pool.query<Row>(
    `SELECT ${CERTIFICATE_COLUMNS} FROM certificates WHERE site_id = $1 ORDER BY issued_at DESC, seq DESC`,
    [siteId],
  );
  return rows.map(certificateFromRow);
}

export async function revokeCertificate(
  pool: pg.Pool,
  serialHex: string,
  input: { at: string; by: string; reason: string },
): Promise<boolean> {
  const serial = canonicalSerial(serialHex);
  if (serial === null) return false;
  // One statement: the first revocation wins, later ones rewrite nothing (a later one that
  // waited on the first's row lock re-evaluates COALESCE on the revoked row).
  const { rowCount } = await pool.query(
    `UPDATE certificates SET revoked_at = COALESCE(revoked_at, $1), revoked_by = COALESCE(revoked_by, $2),
       revocation_reason = COALESCE(revocation_reason, $3)
     WHERE serial_hex = $4`,
    [requireText(input.at, 'at'), requireText(input.by, 'by'), String(input.reason ?? ''), serial],
  );
  return (rowCount ?? 0) > 0;
}

export async function revokeLineage(transaction: Transaction, input: LineageRevocation): Promise<string[]> {
  if (!ENVIRONMENTS.includes(input.environment)) throw new KeybridgeError('invalid-field', 'unknown environment', { field: 'environment' });
  const siteId = requireText(input.siteId, 'siteId');
  const upTo = requireText(input.issuedUpTo, 'issuedUpTo');
  const revocation = [requireText(input.at, 'at'), requireText(input.by, 'by'), String(input.reason ?? '')];
  return transaction('revoking certificates', async (client) => {
    await lockSite(client, siteId);
    // Issued in the same statement's snapshot, taken after the lock: every certificate
    // recorded before the lock was granted is seen.
    const { rows } = await client.query<Row>(
      `UPDATE certificates SET revoked_at = $1, revoked_by = $2, revocation_reason = $3
       WHERE site_id = $4 AND environment = $5 AND issued_at <= $6 AND revoked_at IS NULL
       RETURNING serial_hex, issued_at, seq`,
      [...revocation, siteId, input.environment, upTo],
    );
    return rows
      .sort((a, b) => String(a.issued_at).localeCompare(String(b.issued_at)) || Number(a.seq) - Number(b.seq))
      .map((row) => String(row.serial_hex));
  });
}

export async function touchCertificate(pool: pg.Pool, serialHex: string, at: string): Promise<void> {
  const serial = canonicalSerial(serialHex);
  if (serial === null) return;
  await pool.query('UPDATE certificates SET last_seen_at = $1 WHERE serial_hex = $2 AND (last_seen_at IS NULL OR last_seen_at < $1)', [
    requireText(at, 'at'),
    serial,
  ]);
}
