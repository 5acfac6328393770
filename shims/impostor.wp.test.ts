// Issue 13, finding 6, on the WordPress fixture: the agent is stopped (fixtures/wordpress/
// agent.sh stop) and another process binds its unix socket, recording every byte and answering
// like an agent. The plugin's page read (keybridge_get_key in a fresh PHP process: an empty
// cache, so it asks the agent), its write (keybridge_set_key: a value and the site's KEK) and
// the admin screen's REST route (keys.set through the CMS's PHP) must give it neither the
// token nor any value or KEK, and use nothing it answered. Runs in npm test's WordPress pass.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attachWordPress, logInToWordPress, runWordPressPhp, runWordPressPhpAsync } from '../fixtures/wordpress/wordpress.ts';
import { leakedSecrets, startImpostor, tokenAndKek } from '../sidecar/test-helpers/impostor.ts';

const fixture = attachWordPress(process.env.KEYBRIDGE_WP_ENV ?? '');
const { env } = fixture;
const tag = randomBytes(6).toString('hex');
const name = `impostor/${tag}`;
const stored = `kbimpostor-stored-${randomBytes(12).toString('hex')}`;
const offered = `kbimpostor-offered-${randomBytes(12).toString('hex')}`;
const viaRest = `kbimpostor-rest-${randomBytes(12).toString('hex')}`;
const php = (value: string) => `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
let kek: string;

beforeAll(() => {
  runWordPressPhp(
    env,
    `$status = Keybridge_Status::fetch(); if ( empty( $status['registered'] ) ) { Keybridge_Plugin::client()->register( array( 'email' => 'impostor-${tag}@example.com', 'site_name' => 'impostor' ) ); }`,
    60_000,
  );
  expect(runWordPressPhp(env, `var_export( keybridge_set_key( ${php(name)}, ${php(stored)} ) );`, 60_000)).toBe('true');
  kek = runWordPressPhp(env, `echo Keybridge_Keks::get( ${php(name)} );`);
  expect(kek).toMatch(/^kb1\$/);
});

afterAll(() => {
  try {
    runWordPressPhp(env, `keybridge_delete_key( ${php(name)} );`, 60_000);
  } catch {
    /* best effort: the shared site keeps one test key */
  }
});

describe('an impostor on the agent socket of a WordPress site', () => {
  it('gets no token, value or KEK from the plugin or its admin route, and the site uses nothing it answered', async () => {
    const cookie = await logInToWordPress(env);
    const nonce = await (await fetch(`${env.WP_URL}/wp-admin/admin-ajax.php?action=rest-nonce`, { headers: { cookie } })).text();
    await fixture.stopAgent();
    const impostor = await startImpostor({ kind: 'unix', path: env.KEYBRIDGE_AGENT.slice('unix:'.length) });
    try {
      // Async: the impostor answers from this process.
      expect(await runWordPressPhpAsync(env, `var_export( keybridge_get_key( ${php(name)} ) );`)).toBe('NULL');
      expect(await runWordPressPhpAsync(env, `var_export( keybridge_set_key( ${php(name)}, ${php(offered)} ) );`)).toBe('false');
      const rest = await fetch(`${env.WP_URL}/index.php?rest_route=/keybridge/v1/op/keys.set`, {
        method: 'POST',
        headers: { cookie, 'x-wp-nonce': nonce, 'content-type': 'application/json' },
        body: JSON.stringify({ name, value: viaRest }),
      });
      expect(rest.status).not.toBe(200);
      expect(await rest.text()).not.toContain(viaRest);
    } finally {
      await impostor.close();
      await fixture.startAgent();
    }

    expect(impostor.connections().length, 'the site did try the socket').toBeGreaterThanOrEqual(3);
    const token = readFileSync(env.KEYBRIDGE_TOKEN_FILE, 'utf8').trim();
    const secrets = {
      ...tokenAndKek(token, kek),
      'stored value': stored,
      'offered value': offered,
      'value sent through the admin route': viaRest,
    };
    expect(leakedSecrets(impostor.bytes(), secrets)).toEqual([]);
    expect(impostor.requestLines()).toEqual(['GET /v1/health HTTP/1.1', 'POST /v1/keys/fetch HTTP/1.1']);

    // The agent is back: the stored value is intact, nothing the site offered the impostor was written.
    expect(runWordPressPhp(env, `echo keybridge_get_key( ${php(name)} );`, 60_000)).toBe(stored);
  }, 180_000);
});
