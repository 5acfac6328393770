// The secret scan of the WordPress pass: values stored through every door the plugin has
// (the PHP function, a protected option, the admin screen's REST route, a constant the
// loader defines for a plugin, reads counted and refused by an allow list in real page
// requests) and read back — also with the agent down, so the error paths log — must appear in
// no file of the running site:
// logs (WordPress's debug.log, php -S, the agent, MariaDB), the WordPress tree, the agent's
// home (its SQLite store holds ciphertexts only) and MariaDB's own data files (the database
// holds KEKs and references, never a value) — except the one value that was plaintext in the
// database before keybridge got it, which MariaDB's redo log still holds, as the README warns.
// Runs in npm test's WordPress pass.
import { randomBytes } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodings, filesUnder } from '../sidecar/test-helpers/secret-scan.ts';
import { attachWordPress, logInToWordPress, runWordPressPhp } from '../fixtures/wordpress/wordpress.ts';

const envFile = process.env.KEYBRIDGE_WP_ENV ?? '';
const fixture = attachWordPress(envFile);
const { env } = fixture;
const fixtureDir = dirname(envFile);

const tag = randomBytes(6).toString('hex');
const secrets = {
  // A recognisable prefix helps a reader of a failure; the random part makes a hit mean a leak.
  viaFunction: `kbscan-function-${randomBytes(12).toString('hex')}`,
  protectedBefore: `kbscan-option-before-${randomBytes(12).toString('hex')}`,
  protectedAfter: `kbscan-option-after-${randomBytes(12).toString('hex')}`,
  viaRest: `kbscan-rest-${randomBytes(12).toString('hex')}`,
  viaConstant: `kbscan-constant-${randomBytes(12).toString('hex')}`,
};
const option = `kbscan_smtp_password_${tag}`;
/** Where, in MariaDB's data directory, the scan found the protected option's value from before it was protected. */
let foundOldOptionValue: string[] | undefined;

/** Runs PHP inside the site in a fresh process (an empty per-process cache). */
const phpInSite = (code: string): string => runWordPressPhp(env, code, 60_000);

const php = (value: string) => `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

beforeAll(() => {
  // The browser test registers the shared site when it runs first; alone, this file does.
  phpInSite(
    `$status = Keybridge_Status::fetch(); if ( empty( $status['registered'] ) ) { Keybridge_Plugin::client()->register( array( 'email' => 'scan-${tag}@example.com', 'site_name' => 'scan' ) ); }`,
  );
});

afterAll(() => {
  // Leave the shared site as it was: no scan keys, no scan option (best effort).
  try {
    phpInSite(
      `keybridge_unprotect_option(${php(option)}); delete_option(${php(option)}); keybridge_delete_key('scan/${tag}/function'); keybridge_delete_key('scan/${tag}/rest');` +
        ` Keybridge_Usage::set_allowed('scan/${tag}/function', array()); keybridge_delete_key('scan/${tag}/constant');` +
        ` $map = Keybridge_Constants::map(); unset( $map['KB_FIXTURE_SMTP_PASS'] ); update_option( Keybridge_Constants::OPTION, $map, true );`,
    );
  } catch {
    /* the scan's own result stands */
  }
});

describe('secret scan of the running WordPress site', () => {
  it('stores and reads values through the function, a protected option and the REST route', async () => {
    const viaFunction = phpInSite(
      `var_export( keybridge_set_key( 'scan/${tag}/function', ${php(secrets.viaFunction)} ) ); echo ' '; echo keybridge_get_key( 'scan/${tag}/function' );`,
    );
    expect(viaFunction).toBe(`true ${secrets.viaFunction}`);

    // An existing plaintext option handed to keybridge, then updated by "its plugin".
    const protectedOption = phpInSite(
      `add_option( ${php(option)}, ${php(secrets.protectedBefore)}, '', 'no' ); var_export( keybridge_protect_option( ${php(option)} ) ); ` +
        `update_option( ${php(option)}, ${php(secrets.protectedAfter)} ); wp_cache_flush(); echo ' ' . get_option( ${php(option)} );`,
    );
    expect(protectedOption).toBe(`true ${secrets.protectedAfter}`);

    // The admin screen's route, as the browser calls it (cookie + wp_rest nonce).
    const cookie = await logInToWordPress(env);
    const nonce = await (await fetch(`${env.WP_URL}/wp-admin/admin-ajax.php?action=rest-nonce`, { headers: { cookie } })).text();
    const answer = await fetch(`${env.WP_URL}/index.php?rest_route=/keybridge/v1/op/keys.set`, {
      method: 'POST',
      headers: { cookie, 'x-wp-nonce': nonce, 'content-type': 'application/json' },
      body: JSON.stringify({ name: `scan/${tag}/rest`, value: secrets.viaRest, label: 'scan' }),
    });
    expect(answer.status, await answer.clone().text()).toBe(200);
    expect(await answer.text()).not.toContain(secrets.viaRest);
    expect(phpInSite(`echo keybridge_get_key( 'scan/${tag}/rest' );`)).toBe(secrets.viaRest);
  });

  it('serves a constant to the unmodified mailer plugin and counts a plugin’s reads, allowed and refused', async () => {
    phpInSite(
      `keybridge_set_key( 'scan/${tag}/constant', ${php(secrets.viaConstant)} ); Keybridge_Constants::set( 'KB_FIXTURE_SMTP_PASS', 'scan/${tag}/constant' );`,
    );
    const mailer = async (query: string) => (await fetch(`${env.WP_URL}/?kb-fixture-mailer=1${query}`)).text();
    const page = await mailer(`&reads=3&key=${encodeURIComponent(`scan/${tag}/function`)}`);
    expect(JSON.parse(page)).toMatchObject({ source: 'constant' });
    expect(page).not.toContain(secrets.viaConstant);
    // Refused by an allow list: logged as access-denied, with the name, never the value.
    phpInSite(`Keybridge_Usage::set_allowed( 'scan/${tag}/function', array( 'plugin:somebody-else' ) );`);
    expect(JSON.parse(await mailer(`&key=${encodeURIComponent(`scan/${tag}/function`)}`))).toMatchObject({ key: null });
    // Counts go to the agent and the option in a batch (the CLI process sends its own at once).
    phpInSite('Keybridge_Usage::flush( true );');
  });

  it('logs a failed read with the agent down, without the value', async () => {
    await fixture.stopAgent();
    try {
      // A fresh process has an empty cache: the read must go to the (stopped) agent and fail.
      expect(phpInSite(`var_export( keybridge_get_key( 'scan/${tag}/function' ) );`)).toBe('NULL');
      expect(phpInSite(`var_export( get_option( ${php(option)} ) );`)).toBe('false');
      // The loader with the agent down: the constant stays undefined, the page still renders.
      expect(phpInSite(`var_export( defined( 'KB_FIXTURE_SMTP_PASS' ) );`)).toBe('false');
      expect((await fetch(`${env.WP_URL}/?kb-fixture-mailer=1`)).status).toBe(200);
    } finally {
      await fixture.startAgent();
    }
  });

  it('finds no value in any file of the site, its agent or its database', () => {
    const files = filesUnder(fixtureDir);
    const mariadbData = join(fixtureDir, 'mariadb');
    // Sanity: the scan really covers the logs, the agent's store and MariaDB's files.
    expect(files.some((file) => file.endsWith('debug.log') || file.endsWith('php.log'))).toBe(true);
    expect(files.some((file) => file.endsWith('.db'))).toBe(true);
    expect(files.some((file) => file.startsWith(mariadbData))).toBe(true);

    const leaks: string[] = [];
    const oldOptionValue: string[] = [];
    for (const file of files) {
      if (statSync(file).size > 512 * 1024 * 1024) continue;
      const content = readFileSync(file);
      for (const [which, value] of Object.entries(secrets)) {
        if (!encodings(value).some((form) => content.includes(form))) continue;
        // The option's first value was a plaintext wp_options row before it was protected:
        // InnoDB's redo log (and old pages) keep old row versions, which keybridge cannot reach.
        // The README warns of it; the next test holds that warning to what is found here.
        if (which === 'protectedBefore' && file.startsWith(mariadbData)) oldOptionValue.push(relative(fixtureDir, file));
        else leaks.push(`${which} in ${relative(fixtureDir, file)}`);
      }
    }
    expect(leaks).toEqual([]);
    foundOldOptionValue = oldOptionValue;
  });

  it("finds the protected option's old plaintext value in MariaDB's redo log, as the README warns", () => {
    // README (WordPress): "MariaDB's own redo log and old pages may still hold the old value (the
    // secret-scan test finds it in ib_logfile0)". If this fails, the warning is wrong: change it.
    expect(foundOldOptionValue, 'the file scan above did not run').toBeDefined();
    expect(foundOldOptionValue).toContain('mariadb/ib_logfile0');
  });
});
