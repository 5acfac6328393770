import type pg from 'pg';
import { PG_LOCK_AUDIT, PG_LOCK_CLASS } from './schema.ts';
import type { AuditEntry } from '../types.ts';

/**
 * Audit rows for the PostgreSQL storage. Inserted as the last statement of their transaction
 * under a transaction advisory lock, so `seq` order is commit order (see storage.ts).
 */
/** Inserts in order, as the last statement of the transaction, under the audit lock. */
export async function insertAudit(client: pg.PoolClient, entries: readonly AuditEntry[]): Promise<void> {
  await client.query('SELECT pg_advisory_xact_lock($1, $2)', [PG_LOCK_CLASS, PG_LOCK_AUDIT]);
  await client.query(
    `INSERT INTO audit (at, actor, op, vault_id, key_id, result)
     SELECT at, actor, op, vault_id, key_id, result
     FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[])
       WITH ORDINALITY AS e (at, actor, op, vault_id, key_id, result, n)
     ORDER BY n`,
    [
      entries.map((e) => e.at),
      entries.map((e) => e.actor),
      entries.map((e) => e.op),
      entries.map((e) => e.vaultId ?? null),
      entries.map((e) => e.keyId ?? null),
      entries.map((e) => e.result),
    ],
  );
}
