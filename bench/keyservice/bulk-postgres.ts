import pg from 'pg';
import { sealedRows, type OpenVault, type SealedRow } from './bulk-rows.ts';
import type { BenchSite } from './secrets.ts';

/**
 * Bench-only bulk fill of a keybridge PostgreSQL database: secrets `from` … `to - 1` of
 * `site`, as real sealed records, 10,000 per `INSERT … SELECT FROM unnest(…)` statement on
 * one connection (synchronous_commit off for it). The next batch is sealed while the last
 * one is in flight, so node's CPU and the server's overlap. Ends with ANALYZE.
 */
export const POSTGRES_BATCH = 10_000;

const INSERT = `INSERT INTO secrets (vault_id, key_id, meta, value, version, updated_at, reads, deleted)
  SELECT $1, t.key_id, t.meta, t.value, 1, $2, 0, false
  FROM unnest($3::text[], $4::bytea[], $5::bytea[]) AS t (key_id, meta, value)`;

export async function bulkFillPostgres(
  url: string,
  site: BenchSite,
  vault: OpenVault,
  from: number,
  to: number,
  at: string,
  onBatch?: (done: number) => void,
): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => undefined);
  await client.connect();
  try {
    await client.query('SET synchronous_commit = off');
    let inFlight: Promise<unknown> = Promise.resolve();
    for (let start = from; start < to; start += POSTGRES_BATCH) {
      const end = Math.min(to, start + POSTGRES_BATCH);
      const rows = sealedRows(site, vault, start, end);
      await inFlight;
      inFlight = insert(client, vault.vaultId, at, rows).then(() => onBatch?.(end - from));
    }
    await inFlight;
    await client.query('ANALYZE secrets');
  } finally {
    await client.end().catch(() => undefined);
  }
}

function insert(client: pg.Client, vaultId: string, at: string, rows: SealedRow[]): Promise<unknown> {
  return client.query(INSERT, [vaultId, at, rows.map((row) => row.keyId), rows.map((row) => row.meta), rows.map((row) => row.value)]);
}
