import type Database from 'better-sqlite3';
import { KeybridgeError } from '../../errors.ts';
import { ENVIRONMENTS } from '../../protocol/keyservice.ts';
import { CERTIFICATE_COLUMNS, CERTIFICATE_INSERT_COLUMNS, certificateFromRow, certificateInsertValues } from '../registry-rows.ts';
import { checkNewCertificate, parentRefusal, requireText, type Row } from '../registry-rows.ts';
import { canonicalSerial, type CertificateRecord, type LineageRevocation, type NewCertificate } from '../registry-types.ts';

/**
 * The certificate half of the SQLite registry (registry.ts delegates here): recording with
 * the lineage rules, reading, revoking one certificate or a whole lineage, last seen. Every
 * write that checks before it changes runs in an IMMEDIATE transaction, which serialises it
 * with every other writer of the file: a certificate recorded while its lineage is revoked
 * is either revoked with it or refused.
 */
export function recordCertificate(db: Database.Database, record: NewCertificate): void {
  const checked = checkNewCertificate(record);
  db.transaction(() => {
    if (!db.prepare('SELECT 1 FROM sites WHERE site_id = ?').get(record.siteId)) {
      throw new KeybridgeError('invalid-field', 'no such site', { field: 'siteId' });
    }
    if (checked.parent !== null) {
      const parent = db.prepare('SELECT site_id, revoked_at, superseded_at FROM certificates WHERE serial_hex = ?').get(checked.parent) as
        Row | undefined;
      const refusal = parentRefusal(parent, record.siteId, record.issuedAt, checked.requireLiveParent);
      if (refusal) throw refusal;
    }
    const { changes } = db
      .prepare(
        `INSERT INTO certificates (${CERTIFICATE_INSERT_COLUMNS})
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (serial_hex) DO NOTHING`,
      )
      .run(...certificateInsertValues(record, checked));
    if (changes === 0) {
      throw new KeybridgeError('invalid-field', `certificate serial ${checked.serial} is already recorded`, { field: 'serialHex' });
    }
    if (checked.supersedeParentAt !== null) {
      // An earlier end (a second renewal of the same parent) is kept.
      db.prepare(`UPDATE certificates SET superseded_at = ? WHERE serial_hex = ? AND (superseded_at IS NULL OR superseded_at > ?)`).run(
        checked.supersedeParentAt,
        checked.parent,
        checked.supersedeParentAt,
      );
    }
  }).immediate();
}

export function getCertificate(db: Database.Database, serialHex: string): CertificateRecord | null {
  const serial = canonicalSerial(serialHex);
  if (serial === null) return null;
  const row = db.prepare(`SELECT ${CERTIFICATE_COLUMNS} FROM certificates WHERE serial_hex = ?`).get(serial) as Row | undefined;
  return row ? certificateFromRow(row) : null;
}

export function listCertificates(db: Database.Database, siteId: string): CertificateRecord[] {
  return (
    db.prepare(`SELECT ${CERTIFICATE_COLUMNS} FROM certificates WHERE site_id = ? ORDER BY issued_at DESC, rowid DESC`).all(siteId) as Row[]
  ).map(certificateFromRow);
}

export function revokeCertificate(db: Database.Database, serialHex: string, input: { at: string; by: string; reason: string }): boolean {
  const serial = canonicalSerial(serialHex);
  if (serial === null) return false;
  // One statement: the first revocation wins, later ones rewrite nothing.
  const { changes } = db
    .prepare(
      `UPDATE certificates SET revoked_at = COALESCE(revoked_at, ?), revoked_by = COALESCE(revoked_by, ?),
         revocation_reason = COALESCE(revocation_reason, ?)
       WHERE serial_hex = ?`,
    )
    .run(requireText(input.at, 'at'), requireText(input.by, 'by'), String(input.reason ?? ''), serial);
  return changes > 0;
}

export function revokeLineage(db: Database.Database, input: LineageRevocation): string[] {
  if (!ENVIRONMENTS.includes(input.environment)) throw new KeybridgeError('invalid-field', 'unknown environment', { field: 'environment' });
  const params = [requireText(input.siteId, 'siteId'), input.environment, requireText(input.issuedUpTo, 'issuedUpTo')];
  const revocation = [requireText(input.at, 'at'), requireText(input.by, 'by'), String(input.reason ?? '')];
  return db
    .transaction(() => {
      const serials = (
        db
          .prepare(
            `SELECT serial_hex FROM certificates WHERE site_id = ? AND environment = ? AND issued_at <= ? AND revoked_at IS NULL
             ORDER BY issued_at, rowid`,
          )
          .all(...params) as Row[]
      ).map((row) => String(row.serial_hex));
      db.prepare(
        `UPDATE certificates SET revoked_at = ?, revoked_by = ?, revocation_reason = ?
         WHERE site_id = ? AND environment = ? AND issued_at <= ? AND revoked_at IS NULL`,
      ).run(...revocation, ...params);
      return serials;
    })
    .immediate();
}

export function touchCertificate(db: Database.Database, serialHex: string, at: string): void {
  const serial = canonicalSerial(serialHex);
  if (serial === null) return;
  db.prepare('UPDATE certificates SET last_seen_at = ? WHERE serial_hex = ? AND (last_seen_at IS NULL OR last_seen_at < ?)').run(
    requireText(at, 'at'),
    serial,
    at,
  );
}
