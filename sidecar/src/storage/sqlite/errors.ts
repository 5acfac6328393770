import { KeybridgeError } from '../../errors.ts';

/**
 * Maps a failure of SQLite (or of the filesystem under it) to `storage-failure`. The
 * detail names the operation and the SQLite / errno code only: driver messages can quote
 * SQL or values, so they are never echoed (the original stays in `cause` for debugging).
 */
export function storageFailure(error: unknown, operation: string): KeybridgeError {
  if (error instanceof KeybridgeError) return error;
  const code = typeof (error as { code?: unknown })?.code === 'string' ? (error as { code: string }).code : undefined;
  if (code === undefined) {
    const message = error instanceof Error ? error.message : '';
    if (/database connection is not open/i.test(message)) {
      return new KeybridgeError('storage-failure', `${operation}: the storage is closed`, { cause: error });
    }
    return new KeybridgeError('internal', undefined, { cause: error });
  }
  return new KeybridgeError('storage-failure', `${operation}: ${describeCode(code)} (${code})`, { cause: error });
}

function describeCode(code: string): string {
  if (code === 'SQLITE_FULL' || code === 'ENOSPC') return 'the disk is full';
  if (code.startsWith('SQLITE_IOERR') || code === 'EIO') return 'an I/O error occurred';
  if (code.startsWith('SQLITE_READONLY') || code === 'EROFS') return 'the database is read-only';
  if (code.startsWith('SQLITE_CANTOPEN') || code === 'EACCES' || code === 'EPERM' || code === 'ENOENT') {
    return 'the database file cannot be opened';
  }
  if (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB') {
    return 'the database file is damaged or is not a keybridge database';
  }
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return 'the database stayed locked by another process';
  }
  if (code.startsWith('SQLITE_CONSTRAINT')) return 'a storage constraint was violated';
  return 'the storage reported an error';
}

/** Runs one synchronous SQLite operation of a store, mapping any failure to storage-failure. */
export function runSqlite<T>(closed: boolean, operation: string, body: () => T): T {
  if (closed) throw new KeybridgeError('storage-failure', `${operation}: the storage is closed`);
  try {
    return body();
  } catch (error) {
    throw storageFailure(error, operation);
  }
}
