import { KeybridgeError } from '../../../errors.ts';

/**
 * The paging parameters of `GET /v1/keys?limit=N&cursor=C`. A cursor is the last name of the
 * previous page, base64url-encoded: opaque to clients, and safe in a URL whatever the name
 * holds (names are not secrets; values and KEKs never travel in a URL).
 */
export const DEFAULT_LIST_LIMIT = 100;
export const MAX_LIST_LIMIT = 1000;

export function listingQuery(query: Record<string, string>): { limit: number; after: string | null } {
  for (const key of Object.keys(query)) {
    if (key !== 'limit' && key !== 'cursor')
      throw new KeybridgeError('invalid-field', 'is not a parameter of this operation', { field: key });
  }
  let limit = DEFAULT_LIST_LIMIT;
  if (query.limit !== undefined) {
    if (!/^[1-9][0-9]{0,5}$/.test(query.limit) || Number(query.limit) > MAX_LIST_LIMIT) {
      throw new KeybridgeError('invalid-field', `must be a whole number from 1 to ${MAX_LIST_LIMIT}`, { field: 'limit' });
    }
    limit = Number(query.limit);
  }
  return { limit, after: query.cursor === undefined ? null : decodeCursor(query.cursor) };
}

export function encodeCursor(name: string): string {
  return Buffer.from(name, 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): string {
  const name = /^[A-Za-z0-9_-]{1,1100}$/.test(cursor) ? Buffer.from(cursor, 'base64url').toString('utf8') : '';
  // Only what encodeCursor makes: a non-empty name that encodes back to the same text.
  if (name === '' || encodeCursor(name) !== cursor) {
    throw new KeybridgeError('invalid-field', 'is not a cursor this agent gave (pass next_cursor unchanged)', { field: 'cursor' });
  }
  return name;
}
