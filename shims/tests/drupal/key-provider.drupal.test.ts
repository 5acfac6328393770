/**
 * The keybridge Key provider inside a real Drupal: Key's own API reads and writes through
 * it, Key config overrides serve an unmodified module's configuration from keybridge, a
 * removed Key keeps its value unless the admin confirms, the status report stays readable
 * with the agent down, and each site of the multisite has its own agent and vault.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  drupalPhp,
  drush,
  drushOk,
  ensureRegistered,
  keyValueThroughKey,
  registeredDrupal,
  type DrupalEnv,
  type DrupalFixture,
} from './drupal-test-helpers.ts';

let fixture: DrupalFixture;
let env: DrupalEnv;

beforeAll(() => {
  fixture = registeredDrupal();
  env = fixture.env;
});

afterAll(async () => {
  await fixture.startAgent();
});

describe('Key entities with the keybridge provider', () => {
  it('are found by Key (annotation discovery) and keep only the KEK in their configuration', () => {
    const definition = JSON.parse(
      drupalPhp(env, "echo json_encode(\\Drupal::service('plugin.manager.key.key_provider')->getDefinition('keybridge'));"),
    );
    expect(definition).toMatchObject({ id: 'keybridge', key_value: { accepted: true } });
    const saved = drupalPhp(
      env,
      `$key = \\Drupal\\key\\Entity\\Key::create(['id' => 'api_token', 'label' => 'API token', 'key_type' => 'authentication', 'key_provider' => 'keybridge', 'key_input' => 'text_field']);
       $key->setKeyValue($input['value']);
       $key->save();
       echo json_encode(\\Drupal::config('key.key.api_token')->get('key_provider_settings'));`,
      { value: 'api token value 7f3a' },
    );
    expect(Object.keys(JSON.parse(saved))).toEqual(['wrapping_key']);
    expect(JSON.parse(saved).wrapping_key).toMatch(/^kb1\$[A-Za-z0-9_-]{43}$/);
    expect(saved).not.toContain('api token value');
    expect(keyValueThroughKey(env, 'api_token')).toBe('api token value 7f3a');
  });

  it('set a new value under the same KEK, and obscure it without revealing a character', () => {
    const kekBefore = drushOk(env, ['config:get', 'key.key.api_token', 'key_provider_settings.wrapping_key']);
    drupalPhp(env, "$key = \\Drupal\\key\\Entity\\Key::load('api_token'); $key->setKeyValue($input); $key->save();", 'second value 9c1e');
    expect(keyValueThroughKey(env, 'api_token')).toBe('second value 9c1e');
    expect(drushOk(env, ['config:get', 'key.key.api_token', 'key_provider_settings.wrapping_key'])).toBe(kekBefore);
    const obscured = drupalPhp(
      env,
      "echo \\Drupal\\keybridge\\Plugin\\KeyProvider\\KeybridgeKeyProvider::obscureKeyValue('second value 9c1e', ['key_type_group' => 'authentication']);",
    );
    expect(obscured).toBe('*'.repeat(16));
  });

  it('removing a Key keeps the value in the vault unless the admin confirmed it', () => {
    drushOk(env, ['keybridge:set', 'kept_on_delete', '--value-file=-'], { input: 'kept value' });
    drushOk(env, ['config:delete', 'key.key.kept_on_delete', '-y']).toString();
    drupalPhp(env, "\\Drupal::entityTypeManager()->getStorage('key')->resetCache();");
    // Deleted through the entity API (what a script or config sync does): no confirmation.
    drushOk(env, ['keybridge:set', 'kept_by_api', '--value-file=-'], { input: 'kept by api' });
    drupalPhp(env, "\\Drupal\\key\\Entity\\Key::load('kept_by_api')->delete();");
    const names = drupalPhp(
      env,
      "echo json_encode(array_column(\\Drupal::service('keybridge.agent')->client()->keys_list()['keys'], 'name'));",
    );
    expect(JSON.parse(names)).toEqual(expect.arrayContaining(['kept_on_delete', 'kept_by_api']));
  });
});

describe('Key config overrides', () => {
  it("serve core's system.site:slogan from keybridge while the active config holds no plaintext", () => {
    const slogan = 'slogan kept in keybridge 51d2';
    drushOk(env, ['keybridge:set', 'site_slogan', '--value-file=-'], { input: slogan });
    drupalPhp(
      env,
      `\\Drupal\\key\\Entity\\KeyConfigOverride::create(['id' => 'site_slogan', 'label' => 'Site slogan', 'config_type' => 'system.simple', 'config_prefix' => '', 'config_name' => 'system.site', 'config_item' => 'slogan', 'key_id' => 'site_slogan'])->save();
       \\Drupal::configFactory()->getEditable('system.site')->set('slogan', NULL)->save();`,
    );
    drushOk(env, ['cache:rebuild']);
    expect(drupalPhp(env, "echo \\Drupal::config('system.site')->get('slogan');")).toBe(slogan);
    const active = drupalPhp(env, "echo json_encode(\\Drupal::service('config.storage')->read('system.site'));");
    expect(JSON.parse(active).slogan ?? null).toBeNull();
    expect(drushOk(env, ['sql:query', "SELECT data FROM config WHERE name = 'system.site'"])).not.toContain('kept in keybridge');
  });

  it('with the agent down, pages that read the overridden config still render (no fatal)', async () => {
    await fixture.stopAgent();
    try {
      const page = await fetch(`${env.DRUPAL_URL}/user/login`);
      expect(page.status).toBe(200);
      expect(drupalPhp(env, "echo json_encode(\\Drupal::config('system.site')->get('slogan'));")).toBe('null');
    } finally {
      await fixture.startAgent();
    }
    expect(drupalPhp(env, "echo \\Drupal::config('system.site')->get('slogan');")).toBe('slogan kept in keybridge 51d2');
  });
});

describe('the status report', () => {
  const requirements = () =>
    JSON.parse(drushOk(env, ['core:requirements', '--format=json'])) as Record<
      string,
      { title: string; value: string; severity: string; sid: number }
    >;

  it('has every status row of the spec', () => {
    const rows = requirements();
    const ours = Object.keys(rows).filter((id) => id.startsWith('keybridge_'));
    expect(ours).toEqual(
      expect.arrayContaining(['keybridge_agent', 'keybridge_site_registered', 'keybridge_keys_stored', 'keybridge_certificate_valid']),
    );
    expect(rows.keybridge_agent.severity).toBe('OK');
    expect(rows.keybridge_site_registered.value).toContain('@example.com');
  });

  it('is red and readable with the agent stopped, in drush and on /admin/reports/status', async () => {
    await fixture.stopAgent();
    try {
      const rows = requirements();
      expect(rows.keybridge_agent.severity).toBe('Error');
      expect(rows.keybridge_agent.value).toContain('unreachable');
      const { adminSession } = await import('./drupal-test-helpers.ts');
      const cookie = await adminSession(env);
      const page = await fetch(`${env.DRUPAL_URL}/admin/reports/status`, { headers: { cookie } });
      expect(page.status).toBe(200);
      const html = await page.text();
      expect(html).toContain('keybridge agent unreachable at');
      expect(html).toContain('Start the agent');
    } finally {
      await fixture.startAgent();
    }
    expect(requirements().keybridge_agent.severity).toBe('OK');
  });
});

describe('multisite', () => {
  it('each site reads its own settings.php, agent and vault', () => {
    const second = env.DRUPAL_SECOND_URL;
    ensureRegistered(env, second);
    drushOk(env, ['keybridge:set', 'shared_name', '--value-file=-'], { input: 'default site value' });
    drushOk(env, ['keybridge:set', 'shared_name', '--value-file=-'], { input: 'second site value', uri: second });
    expect(keyValueThroughKey(env, 'shared_name')).toBe('default site value');
    expect(keyValueThroughKey(env, 'shared_name', second)).toBe('second site value');
    const agents = [env.DRUPAL_URL, second].map((uri) =>
      drupalPhp(env, "echo \\Drupal::service('keybridge.agent')->agentAddress();", null, uri),
    );
    expect(agents[0]).not.toBe(agents[1]);
    expect(drush(env, ['keybridge:get', 'api_token'], { uri: second }).status).toBe(1);
  });
});
