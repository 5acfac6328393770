import type pg from 'pg';
import { isRetryableConflict, pgStorageFailure, runPostgres } from './errors.ts';

const ignore = (): void => undefined;
const TRANSACTION_ATTEMPTS = 3;

/**
 * BEGIN … COMMIT on one pooled connection, shared by the secrets storage and the registry;
 * retried on serialization failures and deadlocks only. Failures map to `storage-failure`.
 */
export async function pgTransaction<T>(
  pool: pg.Pool,
  isClosed: () => boolean,
  operation: string,
  body: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    const client = await runPostgres(isClosed(), operation, () => pool.connect());
    client.on('error', ignore);
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const result = await body(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      // A connection that cannot even roll back is destroyed rather than pooled.
      await client.query('ROLLBACK').catch((rollbackError: Error) => {
        broken = rollbackError;
      });
      if (isRetryableConflict(error) && attempt < TRANSACTION_ATTEMPTS && !isClosed()) continue;
      throw pgStorageFailure(error, operation);
    } finally {
      client.removeListener('error', ignore);
      client.release(broken);
    }
  }
}
