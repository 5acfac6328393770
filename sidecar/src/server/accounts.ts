import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from '../crypto/index.ts';
import { KeybridgeError } from '../errors.ts';
import type { AccountRecord, Registry } from '../storage/registry-types.ts';
import type { PasswordGuard } from './password-guard.ts';

/**
 * Accounts as registration sees them, shared by the ordinary registration (which issues a
 * certificate) and the partner registration (whose certificate the platform already holds):
 * a new email creates the account, an existing one needs its password, so nobody can attach
 * a site to someone else's account.
 *
 * What an answer tells about an account: registering an unused email creates it, so whether
 * an email is taken is something registration inherently reveals (to anyone willing to
 * create the account if it is not). Nothing else does: every check of the request (email,
 * site name, CSR, the password's length) comes before the account is looked up, so a request
 * that would fail anyway fails the same way for any email, and a wrong password is refused
 * with the same `credentials-invalid` whether the account has a password or none.
 */

/** Stored for an account made without a password (as a locked /etc/shadow entry): no password opens it. */
export const NO_PASSWORD = '!';
/** A well-formed hash no password opens in practice (random salt and output), checked instead of `!`. */
const NO_PASSWORD_STAND_IN = 'scrypt$17$8$1$u4Vt6zE0rE3yN0nBq9v2Lg==$3l5bGqk6v0m6Y5m2m1W8oQ5Cw9n6b0ZQ7Jc6jB3m0xA=';
const EMAIL = /^[^\s@<>()",;:\\[\]]{1,64}@[A-Za-z0-9.-]{1,190}\.[A-Za-z]{2,}$/;

export async function openOrCreateAccount(
  registry: Registry,
  guard: PasswordGuard,
  input: { email: string; password?: string; at: string },
): Promise<AccountRecord> {
  if (input.password !== undefined) checkPasswordLength(input.password);
  const account = await registry.findAccountByEmail(input.email);
  if (account) {
    if (input.password === undefined) throw new KeybridgeError('account-exists', undefined, { field: 'password' });
    await requirePassword(guard, account, input.password);
    return account;
  }
  const passwordHash = input.password === undefined ? NO_PASSWORD : await guard.hash(input.password);
  return registry.createAccount({ email: input.email, passwordHash, at: input.at });
}

/**
 * The account password, for what only the owner may do (the move to production, a re-issue):
 * `credentials-invalid` when missing or wrong, also for an account that has none.
 */
export async function requirePassword(guard: PasswordGuard, account: AccountRecord, password: unknown): Promise<void> {
  if (typeof password !== 'string' || password === '') throw passwordRequired();
  // An account without a password is checked against a stand-in: the same cost as a guess.
  const locked = account.passwordHash === NO_PASSWORD;
  const right = await guard.verify(password, locked ? NO_PASSWORD_STAND_IN : account.passwordHash);
  if (!right || locked) throw new KeybridgeError('credentials-invalid');
}

export function passwordRequired(): KeybridgeError {
  return new KeybridgeError('credentials-invalid', "the account's password is required for this", { field: 'password' });
}

/** The length rule hashPassword applies, checked before any lookup (see the top of this file). */
function checkPasswordLength(password: string): void {
  const length = [...password].length;
  if (length < PASSWORD_MIN_LENGTH || length > PASSWORD_MAX_LENGTH) {
    throw new KeybridgeError('invalid-field', `the password must be ${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} characters long`, {
      field: 'password',
    });
  }
}

/** A password field as given, or undefined when absent (null and undefined mean "none"). */
export function optionalPassword(value: unknown): string | undefined {
  return value === undefined || value === null ? undefined : String(value);
}

export function checkEmail(value: unknown): string {
  if (typeof value !== 'string' || value.length > 254 || !EMAIL.test(value.trim())) {
    throw new KeybridgeError('invalid-field', 'must be an email address', { field: 'email' });
  }
  return value.trim().toLowerCase();
}

export function checkSiteName(value: unknown): string {
  if (typeof value !== 'string' || value.trim().length === 0 || [...value].length > 100 || /[\p{Cc}\p{Cf}]/u.test(value)) {
    throw new KeybridgeError('invalid-field', 'must be 1 to 100 printable characters', { field: 'site_name' });
  }
  return value.trim();
}
