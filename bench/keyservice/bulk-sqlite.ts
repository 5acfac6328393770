import Database from 'better-sqlite3';
import { sealedRow, type OpenVault } from './bulk-rows.ts';
import type { BenchSite } from './secrets.ts';

/**
 * Bench-only bulk fill of a keybridge SQLite file: secrets `from` … `to - 1` of `site`, as real
 * sealed records, written on a second handle with one prepared INSERT per row and one
 * transaction per 50,000 rows (synchronous = OFF on this handle only: a crash mid-fill just
 * means a rerun). The key service's own handle sees the rows at its next read.
 * Ends with a WAL checkpoint, so reads afterwards do not wade through a huge WAL.
 */
export const SQLITE_BATCH = 50_000;

export function bulkFillSqlite(
  file: string,
  site: BenchSite,
  vault: OpenVault,
  from: number,
  to: number,
  at: string,
  onBatch?: (done: number) => void,
): void {
  const db = new Database(file, { fileMustExist: true });
  try {
    db.pragma('busy_timeout = 10000');
    db.pragma('synchronous = OFF');
    const insert = db.prepare(
      `INSERT INTO secrets (vault_id, key_id, meta, value, version, updated_at, reads, deleted)
       VALUES (?, ?, ?, ?, 1, ?, 0, 0)`,
    );
    const batch = db.transaction((start: number, end: number) => {
      for (let i = start; i < end; i++) {
        const row = sealedRow(site, vault, i);
        insert.run(vault.vaultId, row.keyId, row.meta, row.value, at);
      }
    });
    for (let start = from; start < to; start += SQLITE_BATCH) {
      const end = Math.min(to, start + SQLITE_BATCH);
      batch.immediate(start, end);
      onBatch?.(end - from);
    }
    db.pragma('wal_checkpoint(TRUNCATE)');
  } finally {
    db.close();
  }
}
