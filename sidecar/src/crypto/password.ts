/**
 * Account passwords on the key service: scrypt (node:crypto) at the cost OWASP's Password
 * Storage Cheat Sheet recommends — N = 2^17, r = 8, p = 1 (128 MiB, a few hundred ms) — with a
 * 16-byte random salt and a 32-byte output.
 *
 * Encoded form, self-describing so the cost can be raised later without breaking old hashes:
 *
 *     scrypt$<log2 N>$<r>$<p>$<base64 salt>$<base64 hash>      e.g. scrypt$17$8$1$…$…
 *
 * (standard base64 with padding). `passwordNeedsRehash` says when a stored hash is below the
 * current cost, so a login can re-hash it while the password is at hand.
 *
 * The password is NFKC-normalised first (NIST SP 800-63B §5.1.1.2), so the same password typed
 * on two systems that compose accents differently still matches.
 *
 * Always async: scrypt runs on the libuv thread pool (four threads by default), or wherever the
 * caller's ScryptRunner puts it, never on the event loop. Each call holds 128 MiB while it runs;
 * callers exposed to the network should rate-limit logins (server/password-guard.ts).
 */
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { KeybridgeError } from '../errors.ts';

export const PASSWORD_MIN_LENGTH = 12;
export const PASSWORD_MAX_LENGTH = 1024;

const COST = { log2N: 17, r: 8, p: 1 } as const;
const SALT_BYTES = 16;
const KEY_BYTES = 32;
/** Bounds for parameters read back from storage: a corrupt row must not allocate gigabytes. */
const LIMITS = { log2N: [14, 20], r: [1, 32], p: [1, 16] } as const;

interface Params {
  log2N: number;
  r: number;
  p: number;
}

/** Length in characters (code points), as a person counts them. */
function characters(password: string): number {
  let count = 0;
  for (const _ of password) count += 1;
  return count;
}

/**
 * Where scrypt runs: node:crypto's scrypt with these arguments, on libuv's thread pool by
 * default; the key service hands in one that runs it on a worker thread of lower priority
 * (server/password-hasher.ts), so hashing never competes with its reads.
 */
export type ScryptRunner = (
  password: string,
  salt: Buffer,
  length: number,
  options: { N: number; r: number; p: number; maxmem: number },
) => Promise<Buffer>;

const onThreadPool: ScryptRunner = (password, salt, length, options) =>
  new Promise((resolve, reject) => {
    scrypt(password, salt, length, options, (error, key) => (error ? reject(error) : resolve(key)));
  });

async function derive(password: string, salt: Buffer, params: Params, length: number, run: ScryptRunner): Promise<Buffer> {
  const N = 2 ** params.log2N;
  // scrypt needs 128·N·r bytes for V plus 128·r·p for B; node's default maxmem is 32 MiB.
  const maxmem = 128 * N * params.r + 128 * params.r * params.p + 1024 * 1024;
  try {
    return await run(password.normalize('NFKC'), salt, length, { N, r: params.r, p: params.p, maxmem });
  } catch (error) {
    throw new KeybridgeError('internal', undefined, { cause: error });
  }
}

/** An encoded scrypt hash of `password`; `invalid-field` (field `password`) unless 12..1024 characters. */
export async function hashPassword(password: string, run: ScryptRunner = onThreadPool): Promise<string> {
  if (typeof password !== 'string') {
    throw new KeybridgeError('invalid-field', 'the password must be a string', { field: 'password' });
  }
  const length = characters(password);
  if (length < PASSWORD_MIN_LENGTH || length > PASSWORD_MAX_LENGTH) {
    throw new KeybridgeError('invalid-field', `the password must be ${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} characters long`, {
      field: 'password',
    });
  }
  const salt = randomBytes(SALT_BYTES);
  const hash = await derive(password, salt, COST, KEY_BYTES, run);
  return ['scrypt', COST.log2N, COST.r, COST.p, salt.toString('base64'), hash.toString('base64')].join('$');
}

interface Decoded extends Params {
  salt: Buffer;
  hash: Buffer;
}

const DECIMAL = /^[1-9][0-9]{0,2}$/;
const B64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** The parts of an encoded hash, or null if it is not one this module could have written. */
function decode(encoded: unknown): Decoded | null {
  if (typeof encoded !== 'string' || encoded.length > 512) return null;
  const parts = encoded.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return null;
  const [, n, r, p, salt, hash] = parts as [string, string, string, string, string, string];
  if (![n, r, p].every((x) => DECIMAL.test(x)) || !B64.test(salt) || !B64.test(hash)) return null;
  const params = { log2N: Number(n), r: Number(r), p: Number(p) };
  for (const name of ['log2N', 'r', 'p'] as const) {
    const [min, max] = LIMITS[name];
    if (params[name] < min || params[name] > max) return null;
  }
  const decoded = { ...params, salt: Buffer.from(salt, 'base64'), hash: Buffer.from(hash, 'base64') };
  if (decoded.salt.length < 16 || decoded.hash.length < 16 || decoded.hash.length > 64) return null;
  return decoded;
}

/**
 * Whether `password` is the one `encoded` was made from, compared in constant time. A password
 * of the wrong length is simply wrong (false), without hashing: it cannot have been stored. A
 * stored value that is not a valid encoding throws `storage-corrupt` rather than reading as a
 * wrong password, so a damaged row is noticed.
 */
export async function verifyPassword(password: string, encoded: string, run: ScryptRunner = onThreadPool): Promise<boolean> {
  const decoded = decode(encoded);
  if (!decoded) throw new KeybridgeError('storage-corrupt', 'the stored password hash is malformed');
  if (typeof password !== 'string') return false;
  const length = characters(password);
  if (length < PASSWORD_MIN_LENGTH || length > PASSWORD_MAX_LENGTH) return false;
  const candidate = await derive(password, decoded.salt, decoded, decoded.hash.length, run);
  return timingSafeEqual(candidate, decoded.hash);
}

/** Whether `encoded` was made at less than today's cost (or is not readable at all). */
export function passwordNeedsRehash(encoded: string): boolean {
  const decoded = decode(encoded);
  if (!decoded) return true;
  return decoded.log2N < COST.log2N || decoded.r < COST.r || decoded.p < COST.p || decoded.salt.length < SALT_BYTES;
}
