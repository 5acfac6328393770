import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createPrivateFileExclusive, isOpenToOthers } from '../../files.ts';
import { KeybridgeError } from '../../errors.ts';

/**
 * The agent token: 32 random bytes, base64url, in a 0600 file outside the webroot whose
 * path the CMS is given (KEYBRIDGE_TOKEN_FILE). It is the key of the proofs both ends make
 * (protocol/local-auth.ts) and is never sent. Whoever can read the file can use the agent;
 * that is why its mode is checked every time it is loaded.
 */

/** Creates the token file unless one exists (then that one wins), and returns the token. */
export async function ensureTokenFile(path: string): Promise<string> {
  if (!existsSync(path)) await createPrivateFileExclusive(path, Buffer.from(`${randomBytes(32).toString('base64url')}\n`));
  return readTokenFile(path);
}

export function readTokenFile(path: string): string {
  if (!existsSync(path)) {
    throw new KeybridgeError('config-invalid', `token file ${path} does not exist`, { field: 'token_file' });
  }
  if (isOpenToOthers(path)) {
    throw new KeybridgeError('config-invalid', `token file ${path} must not be readable by group or others (chmod 600)`, {
      field: 'token_file',
    });
  }
  const token = readFileSync(path, 'utf8').trim();
  if (!/^[A-Za-z0-9_-]{32,512}$/.test(token)) {
    throw new KeybridgeError('config-invalid', `token file ${path} does not hold a keybridge token`, {
      field: 'token_file',
    });
  }
  return token;
}
