import { KeybridgeError } from '../../errors.ts';

/**
 * Maps a failure of PostgreSQL (or of the connection to it) to `storage-failure`. The detail
 * names the operation and the SQLSTATE / errno code only: server and driver messages can
 * quote SQL, values or the connection string, so they are never echoed (the original stays
 * in `cause` for debugging).
 */
export function pgStorageFailure(error: unknown, operation: string): KeybridgeError {
  if (error instanceof KeybridgeError) return error;
  const code = typeof (error as { code?: unknown })?.code === 'string' ? (error as { code: string }).code : undefined;
  if (code === undefined) {
    const message = error instanceof Error ? error.message : '';
    // node-postgres' own connection errors carry no code; their messages hold no data.
    if (/pool after calling end|pool is ended/i.test(message)) {
      return new KeybridgeError('storage-failure', `${operation}: the storage is closed`, { cause: error });
    }
    if (/connection terminated|connection error|not queryable|timeout exceeded|timed out|connection closed/i.test(message)) {
      return new KeybridgeError('storage-failure', `${operation}: the database connection was lost`, { cause: error });
    }
    return new KeybridgeError('internal', undefined, { cause: error });
  }
  return new KeybridgeError('storage-failure', `${operation}: ${describePgCode(code)} (${code})`, { cause: error });
}

/** SQLSTATEs after which the whole transaction may be retried: it certainly did not commit. */
export function isRetryableConflict(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  return code === '40001' || code === '40P01';
}

export function describePgCode(code: string): string {
  if (/^E[A-Z_]+$/.test(code)) return describeErrno(code);
  if (code === '53100') return 'the disk is full';
  if (code === '53200' || code === '53400') return 'the database server is out of memory or over a limit';
  if (code === '53300') return 'the database server has too many connections';
  if (code === '57P01' || code === '57P02') return 'the database server is shutting down';
  if (code === '57P03') return 'the database server is not accepting connections yet';
  if (code === '57P04' || code.startsWith('08')) return 'the database connection failed';
  if (code === '57014') return 'a storage statement was cancelled or timed out';
  if (code.startsWith('58') || code === 'XX001' || code === 'XX002') {
    return code === '58030' ? 'an I/O error occurred' : 'the database files are damaged or unreadable';
  }
  if (code === '25006') return 'the database is read-only';
  if (code === '40001' || code === '40P01') return 'concurrent transactions kept conflicting';
  if (code === '28P01' || code === '28000') return 'the database rejected the credentials';
  if (code === '3D000') return 'the database does not exist';
  if (code === '42501') return 'the database role lacks a privilege';
  if (code === 'P0001') return 'a storage rule refused the change';
  if (code.startsWith('23')) return 'a storage constraint was violated';
  if (code.startsWith('42')) return 'the database schema is not what keybridge expects';
  return 'the storage reported an error';
}

function describeErrno(code: string): string {
  if (code === 'ECONNREFUSED') return 'the database server refused the connection';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'the database host name does not resolve';
  if (code === 'ETIMEDOUT') return 'the database connection timed out';
  if (code === 'ECONNRESET' || code === 'EPIPE' || code === 'ECONNABORTED') return 'the database connection was lost';
  return 'the database connection failed';
}

/** Runs one operation of a PostgreSQL store, mapping any failure to storage-failure. */
export async function runPostgres<T>(closed: boolean, operation: string, body: () => Promise<T>): Promise<T> {
  if (closed) throw new KeybridgeError('storage-failure', `${operation}: the storage is closed`);
  try {
    return await body();
  } catch (error) {
    throw pgStorageFailure(error, operation);
  }
}
