import { KeybridgeError } from '../../errors.ts';

/**
 * Key names are what a site owner types ("stripe_api_key", "smtp/password", "clé-api").
 * They never become paths (the key service sees only opaque HMAC ids), but they do show
 * up in admin tables, CLI output and PHP option names, so the rules keep them printable
 * and unambiguous:
 *  - NFC-normalised, so "é" typed on macOS (NFD) and on Windows (NFC) is one key;
 *  - 1 to 200 characters of letters, digits and `_ . : @ -`, in `/`-separated segments;
 *  - no empty, `.` or `..` segment, no whitespace, control or invisible format characters
 *    (NUL, bidi overrides, zero-width joiners), so two names that look alike are alike.
 */
export const MAX_NAME_LENGTH = 200;

const SEGMENT = /^[\p{L}\p{M}\p{N}_.:@-]+$/u;

export function normaliseKeyName(input: unknown, field = 'name'): string {
  if (typeof input !== 'string') {
    throw new KeybridgeError('invalid-name', 'must be a string', { field });
  }
  if (input.length === 0) throw new KeybridgeError('invalid-name', 'must not be empty', { field });
  // Checked on the raw input first so a 10 MB name is refused before any work on it.
  if (input.length > MAX_NAME_LENGTH * 4) {
    throw new KeybridgeError('invalid-name', `must be at most ${MAX_NAME_LENGTH} characters`, { field });
  }
  const name = input.normalize('NFC');
  if ([...name].length > MAX_NAME_LENGTH) {
    throw new KeybridgeError('invalid-name', `must be at most ${MAX_NAME_LENGTH} characters`, { field });
  }
  if (/[\p{Cc}\p{Cf}\p{Z}\s]/u.test(name)) {
    throw new KeybridgeError('invalid-name', 'must not contain whitespace, control or invisible characters', {
      field,
    });
  }
  for (const segment of name.split('/')) {
    if (segment === '' || segment === '.' || segment === '..') {
      throw new KeybridgeError('invalid-name', 'must not contain empty, "." or ".." segments', { field });
    }
    if (!SEGMENT.test(segment)) {
      throw new KeybridgeError('invalid-name', 'may contain only letters, digits and _ . : @ - /', { field });
    }
  }
  return name;
}
