import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, startUpProcess } from '../../test-helpers/up-process.ts';
import { EMBEDDED_PASSWORD_FILE } from './up.ts';

/**
 * `keybridge up` is one machine that is everything, so the move to production (which needs
 * the account password) finds the embedded account's password in the home: a 0600 file made at
 * the first start. A home made before the password was needed (its account has none) gets one
 * at its next start and keeps working. Real `keybridge up` processes and CLI commands.
 */
const homes: string[] = [];
afterAll(() => {
  for (const home of homes) rmSync(home, { recursive: true, force: true });
});

function newHome(): string {
  const home = mkdtempSync(join(tmpdir(), 'kb-up-production-'));
  homes.push(home);
  return home;
}

describe('keybridge up and the move to production', () => {
  it('keeps the account password in the home (0600): keybridge production needs no flag there, and open policy issues', async () => {
    const home = newHome();
    const up = await startUpProcess(home);
    try {
      const file = join(home, EMBEDDED_PASSWORD_FILE);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(readFileSync(file, 'utf8').trim()).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(up.output()).not.toContain(readFileSync(file, 'utf8').trim());

      // An agent named elsewhere does not get this home's password: the flag is required then.
      const elsewhere = runCli(['production', '--json'], {
        KEYBRIDGE_HOME: home,
        KEYBRIDGE_AGENT: up.url,
        KEYBRIDGE_TOKEN_FILE: join(home, 'agent.token'),
      });
      expect(elsewhere.status).toBe(2);
      expect(elsewhere.stderr).toContain('--password-file is required');

      const moved = runCli(['production', '--json'], { KEYBRIDGE_HOME: home });
      expect(moved.status, moved.stderr).toBe(0);
      expect(JSON.parse(moved.stdout)).toMatchObject({ status: 'issued', environment: 'production' });
      expect(JSON.parse(runCli(['status', '--json'], { KEYBRIDGE_HOME: home }).stdout).environment).toBe('production');
    } finally {
      await up.stop();
    }
  });

  it('gives the password-less account of an older home a password at its next start', async () => {
    const home = newHome();
    const first = await startUpProcess(home);
    await first.stop();
    // What a home from before looks like: the account has no password, no password file.
    const db = new Database(join(home, 'server', 'keybridge.db'));
    db.prepare("UPDATE accounts SET password_hash = '!'").run();
    db.close();
    rmSync(join(home, EMBEDDED_PASSWORD_FILE));

    const again = await startUpProcess(home);
    try {
      expect(existsSync(join(home, EMBEDDED_PASSWORD_FILE))).toBe(true);
      const moved = runCli(['production', '--json'], { KEYBRIDGE_HOME: home });
      expect(moved.status, moved.stderr).toBe(0);
      expect(JSON.parse(moved.stdout)).toMatchObject({ status: 'issued' });
      // A wrong password is refused all the same.
      const wrong = join(home, 'wrong-password');
      writeFileSync(wrong, 'not the embedded password\n');
      const revoked = runCli(['cert', 'revoke'], { KEYBRIDGE_HOME: home });
      expect(revoked.status, revoked.stderr).toBe(0);
      const refused = runCli(['cert', 'reissue', '--password-file', wrong], { KEYBRIDGE_HOME: home });
      expect(refused.status).toBe(1);
      expect(refused.stderr).toContain('credentials-invalid');
      const back = runCli(['cert', 'reissue', '--password-file', join(home, EMBEDDED_PASSWORD_FILE), '--json'], { KEYBRIDGE_HOME: home });
      expect(back.status, back.stderr).toBe(0);
      expect(JSON.parse(back.stdout)).toMatchObject({ environment: 'production' });
    } finally {
      await again.stop();
    }
  });
});
