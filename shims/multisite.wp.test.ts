/**
 * A real WordPress multisite network (fixtures/wordpress/up.sh --multisite: the main site,
 * /alpha/ and /beta/, an administrator of each who is not a network administrator; one agent
 * and one vault for the whole network), attacked as the administrator of one site would attack
 * another: with their own login cookie and their own REST nonce (which WordPress accepts on
 * every site of the network), and with WP-CLI's --url. Starts its own network (the WordPress
 * pass's shared site is a single site) and removes it afterwards.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logInToWordPress, startWordPress, type WordPressEnv, type WordPressFixture } from '../fixtures/wordpress/wordpress.ts';

const REPO = new URL('..', import.meta.url).pathname;
let fixture: WordPressFixture;
let env: WordPressEnv;
let host: string;

interface Person {
  cookie: string;
  nonce: string;
}
let alpha: Person;
let beta: Person;
let superAdmin: Person;

/** A logged-in person and the REST nonce WordPress hands their scripts. */
async function person(user: string, password: string, siteUrl: string): Promise<Person> {
  const cookie = await logInToWordPress(env, { user, password, siteUrl });
  const nonce = await (await fetch(`${siteUrl}/wp-admin/admin-ajax.php?action=rest-nonce`, { headers: { cookie } })).text();
  expect(nonce).toMatch(/^[0-9a-f]{10}$/);
  return { cookie, nonce };
}

interface Answer {
  status: number;
  body: Record<string, unknown> | null;
}

/** POSTs one operation to a site's route as `who` (their cookie and nonce). */
async function route(siteUrl: string, who: Person, operation: string, body: unknown = {}): Promise<Answer> {
  const response = await fetch(`${siteUrl}/index.php?rest_route=/keybridge/v1/op/${operation}`, {
    method: 'POST',
    headers: { cookie: who.cookie, 'X-WP-Nonce': who.nonce, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  let parsed: Record<string, unknown> | null;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = null;
  }
  return { status: response.status, body: parsed };
}

/** `wp --url=HOST/PATH …` against the network, as a real process; its stdout. */
function wp(path: string, args: string[], input?: string): string {
  return execFileSync(
    'php',
    [
      '-d',
      'error_reporting=E_ALL & ~E_DEPRECATED',
      join(REPO, 'shims/vendor/wp-cli/wp-cli/php/boot-fs.php'),
      `--path=${env.WP_PATH}`,
      '--allow-root',
      `--url=${host}${path}`,
      ...args,
    ],
    { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'], timeout: 60_000 },
  );
}

/** PHP run inside WordPress as a request for the site at `path` (/, /alpha/, /beta/). */
function phpOnSite(path: string, code: string): string {
  const script = [
    `$_SERVER['HTTP_HOST'] = ${JSON.stringify(host)};`,
    `$_SERVER['REQUEST_URI'] = ${JSON.stringify(path)};`,
    'define( "WP_USE_THEMES", false );',
    `require ${JSON.stringify(`${env.WP_PATH}/wp-load.php`)};`,
    code,
  ].join('\n');
  return execFileSync('php', ['-d', 'display_errors=stderr', '-r', script], { encoding: 'utf8', timeout: 30_000 });
}

/** Names the agent keeps, as `keybridge keys list --json` shows them (the network's vault). */
function agentNames(): string[] {
  const out = execFileSync('node', [join(REPO, 'bin/keybridge.js'), 'keys', 'list', '--json'], {
    encoding: 'utf8',
    env: { ...process.env, KEYBRIDGE_HOME: env.KEYBRIDGE_HOME },
  });
  const parsed = JSON.parse(out) as { keys?: { name: string }[] } | { name: string }[];
  return (Array.isArray(parsed) ? parsed : (parsed.keys ?? [])).map((key) => key.name);
}

/** Requests the agent has logged for a path (its access log: one JSON line each). */
function agentRequests(path: string): number {
  const log = execFileSync('cat', [join(env.WP_LOG_DIR, 'agent.log')], { encoding: 'utf8' });
  return log.split('\n').filter((line) => line.includes(`"path":"${path}"`)).length;
}

beforeAll(async () => {
  fixture = await startWordPress(mkdtempSync(join(tmpdir(), 'kb-multisite-')), { multisite: true });
  env = fixture.env;
  host = new URL(env.WP_URL).host;
  wp('/', ['keybridge', 'register', '--email=network@example.com', '--site-name=Network']);
  alpha = await person(env.WP_ALPHA_ADMIN_USER!, env.WP_ALPHA_ADMIN_PASSWORD!, env.WP_ALPHA_URL!);
  beta = await person(env.WP_BETA_ADMIN_USER!, env.WP_BETA_ADMIN_PASSWORD!, env.WP_BETA_URL!);
  superAdmin = await person(env.WP_ADMIN_USER, env.WP_ADMIN_PASSWORD, env.WP_URL);
}, 300_000);

afterAll(async () => {
  await fixture?.stop({ purge: true });
}, 120_000);

describe('a multisite network', () => {
  it('keeps each site’s key apart under the same name, read per site with WP-CLI --url', async () => {
    expect((await route(env.WP_ALPHA_URL!, alpha, 'keys.set', { name: 'shared/api-token', value: 'alpha value' })).status).toBe(200);
    expect((await route(env.WP_BETA_URL!, beta, 'keys.set', { name: 'shared/api-token', value: 'beta value' })).status).toBe(200);
    expect(wp('/alpha/', ['keybridge', 'get', 'shared/api-token'])).toBe('alpha value');
    expect(wp('/beta/', ['keybridge', 'get', 'shared/api-token'])).toBe('beta value');
    expect(agentNames()).toEqual(expect.arrayContaining(['site-2/shared/api-token', 'site-3/shared/api-token']));
    // The main site holds no such key: its own namespace is empty.
    expect(() => wp('/', ['keybridge', 'get', 'shared/api-token'])).toThrow();
  });

  it('lists to a site administrator only their own site’s keys, under the names they use', async () => {
    expect((await route(env.WP_BETA_URL!, beta, 'keys.set', { name: 'beta/only', value: 'x' })).status).toBe(200);
    const listed = await route(env.WP_ALPHA_URL!, alpha, 'keys.list');
    expect(listed.status).toBe(200);
    const names = (listed.body?.keys as { name: string }[]).map((key) => key.name);
    expect(names).toEqual(['shared/api-token']);
    expect(JSON.stringify(listed.body)).not.toMatch(/beta\/only|site-3/);
  });

  it('gives a name typed on one site no way into another site’s namespace', async () => {
    // Beta's key as the agent names it, typed into alpha's form: it stays alpha's.
    expect((await route(env.WP_ALPHA_URL!, alpha, 'keys.set', { name: 'site-3/shared/api-token', value: 'forged' })).status).toBe(200);
    expect(agentNames()).toContain('site-2/site-3/shared/api-token');
    expect(wp('/beta/', ['keybridge', 'get', 'shared/api-token'])).toBe('beta value');
    expect((await route(env.WP_ALPHA_URL!, alpha, 'keys.delete', { name: 'site-3/shared/api-token' })).status).toBe(200);
    expect((await route(env.WP_ALPHA_URL!, alpha, 'keys.rotate', { name: 'site-3/beta/only' })).body).toMatchObject({
      type: 'key-not-found',
    });
    expect(wp('/beta/', ['keybridge', 'get', 'shared/api-token'])).toBe('beta value');
    expect(wp('/beta/', ['keybridge', 'get', 'beta/only'])).toBe('x');
  });

  it('refuses alpha’s administrator on beta’s route, with a nonce WordPress accepts network-wide', async () => {
    const before = agentRequests('/v1/keys/delete') + agentRequests('/v1/keys/set') + agentRequests('/v1/keys');
    for (const [operation, body] of [
      ['keys.list', {}],
      ['keys.delete', { name: 'shared/api-token' }],
      ['keys.set', { name: 'shared/api-token', value: 'overwritten' }],
      ['options.list', {}],
      ['usage.list', {}],
    ] as const) {
      const answer = await route(env.WP_BETA_URL!, alpha, operation, body);
      expect({ operation, status: answer.status }).toEqual({ operation, status: 403 });
    }
    expect(agentRequests('/v1/keys/delete') + agentRequests('/v1/keys/set') + agentRequests('/v1/keys')).toBe(before);
    expect(wp('/beta/', ['keybridge', 'get', 'shared/api-token'])).toBe('beta value');
  });

  it('keeps certificate, registration and production to network administrators, before the agent', async () => {
    const paths = ['/v1/register', '/v1/certificates/create', '/v1/certificates/renew', '/v1/production'];
    const before = paths.map(agentRequests);
    const attempts: [string, unknown][] = [
      ['register', { email: 'thief@example.com' }],
      ['certificates.create', { country: 'NL', state: 'NH', locality: 'Amsterdam', organization: 'Thief' }],
      ['certificates.renew', {}],
      ['production', {}],
    ];
    for (const [operation, body] of attempts) {
      const answer = await route(env.WP_ALPHA_URL!, alpha, operation, body);
      expect({ operation, status: answer.status }).toEqual({ operation, status: 403 });
    }
    expect(paths.map(agentRequests)).toEqual(before);
    // A network administrator may, from any site's route.
    const renewed = await route(env.WP_URL, superAdmin, 'certificates.renew');
    expect(renewed.status).toBe(200);
    expect(renewed.body).toMatchObject({ environment: 'development' });
  });

  it('keeps the same option name protected on two sites as two keys, also across switch_to_blog()', async () => {
    phpOnSite('/alpha/', "add_option( 'mailer_password', 'alpha password' );");
    phpOnSite('/beta/', "add_option( 'mailer_password', 'beta password' );");
    expect((await route(env.WP_ALPHA_URL!, alpha, 'options.protect', { option: 'mailer_password' })).status).toBe(200);
    expect((await route(env.WP_BETA_URL!, beta, 'options.protect', { option: 'mailer_password' })).status).toBe(200);
    expect(agentNames()).toEqual(expect.arrayContaining(['site-2/wp-option:mailer_password', 'site-3/wp-option:mailer_password']));
    expect(phpOnSite('/alpha/', "echo get_option( 'mailer_password' );")).toBe('alpha password');
    expect(phpOnSite('/beta/', "echo get_option( 'mailer_password' );")).toBe('beta password');
    // Code on the main site that switches to each site reads that site's value.
    const blogIds = JSON.parse(
      phpOnSite('/', "echo json_encode( array( get_id_from_blogname( 'alpha' ), get_id_from_blogname( 'beta' ) ) );"),
    );
    const switched = phpOnSite(
      '/',
      `$out = array(); foreach ( ${JSON.stringify(blogIds)} as $id ) { switch_to_blog( $id ); $out[] = get_option( 'mailer_password' ); restore_current_blog(); } echo json_encode( $out );`,
    );
    expect(JSON.parse(switched)).toEqual(['alpha password', 'beta password']);
    // The rows hold references only.
    expect(
      phpOnSite(
        '/alpha/',
        'global $wpdb; echo $wpdb->get_var( "SELECT option_value FROM {$wpdb->options} WHERE option_name = \'mailer_password\'" );',
      ),
    ).toMatch(/^keybridge:ref:v1:\d+$/);
  });

  it('offers Network Admin → Keybridge to network administrators only, and a site page without network forms', async () => {
    const networkPage = `${env.WP_URL}/wp-admin/network/settings.php?page=keybridge`;
    const asSuper = await fetch(networkPage, { headers: { cookie: superAdmin.cookie } });
    expect(asSuper.status).toBe(200);
    const superHtml = await asSuper.text();
    expect(superHtml).toContain('id="keybridge-admin" data-context="network"');
    const networkForms = formIds(superHtml);
    expect(networkForms).toEqual(expect.arrayContaining(['certificate', 'renew', 'production']));
    expect(networkForms).not.toContain('key');

    const asAlpha = await fetch(networkPage, { headers: { cookie: alpha.cookie }, redirect: 'manual' });
    expect(asAlpha.status === 403 || (asAlpha.status >= 300 && asAlpha.status < 400)).toBe(true);
    expect(await asAlpha.text()).not.toContain('keybridge-admin');

    const sitePage = await fetch(`${env.WP_ALPHA_URL}/wp-admin/options-general.php?page=keybridge`, { headers: { cookie: alpha.cookie } });
    expect(sitePage.status).toBe(200);
    const siteForms = formIds(await sitePage.text());
    expect(siteForms).toEqual(expect.arrayContaining(['key', 'generate', 'protect', 'constant', 'access']));
    for (const networkForm of ['register', 'certificate', 'renew', 'production']) expect(siteForms).not.toContain(networkForm);
  });
});

/** The form ids of the page's window.keybridgeAdmin. */
function formIds(html: string): string[] {
  const match = /window\.keybridgeAdmin = (\{.*?\});\n/s.exec(html);
  if (!match) throw new Error('the page has no window.keybridgeAdmin');
  return (JSON.parse(match[1]) as { forms: { id: string }[] }).forms.map((form) => form.id);
}
