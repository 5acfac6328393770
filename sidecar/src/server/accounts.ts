import { hashPassword, verifyPassword } from '../crypto/index.ts';
import { KeybridgeError } from '../errors.ts';
import type { AccountRecord, Registry } from '../storage/registry-types.ts';

/**
 * Accounts as registration sees them, shared by the ordinary registration (which issues a
 * certificate) and the partner registration (whose certificate the platform already holds):
 * a new email creates the account, an existing one needs its password, so nobody can attach
 * a site to someone else's account.
 */

/** Stored for an account made without a password (as a locked /etc/shadow entry): no password opens it. */
export const NO_PASSWORD = '!';
const EMAIL = /^[^\s@<>()",;:\\[\]]{1,64}@[A-Za-z0-9.-]{1,190}\.[A-Za-z]{2,}$/;

export async function openOrCreateAccount(
  registry: Registry,
  input: { email: string; password?: string; at: string },
): Promise<AccountRecord> {
  const account = await registry.findAccountByEmail(input.email);
  if (account) {
    if (input.password === undefined) throw new KeybridgeError('account-exists', undefined, { field: 'password' });
    if (account.passwordHash === NO_PASSWORD || !(await verifyPassword(input.password, account.passwordHash))) {
      throw new KeybridgeError('credentials-invalid');
    }
    return account;
  }
  const passwordHash = input.password === undefined ? NO_PASSWORD : await hashPassword(input.password);
  return registry.createAccount({ email: input.email, passwordHash, at: input.at });
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
