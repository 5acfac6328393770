/**
 * The secret scan of the Drupal pass: values stored through every door the module has
 * (Key's own API, a Key config override, the settings page's route, drush) and read back,
 * also with the agent down so the error paths log, must appear in no file of the fixture:
 * the Drupal tree (settings, files, caches), its SQLite databases (KEKs yes, values never),
 * the logs (php -S, PHP's error log, the agents) and the agents' homes (ciphertexts only).
 * As is, base64, base64url and hex.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { encodings, filesUnder } from '../../../sidecar/test-helpers/secret-scan.ts';
import {
  adminSession,
  callOperation,
  csrfToken,
  drupalPhp,
  drushOk,
  keyValueThroughKey,
  registeredDrupal,
  type DrupalEnv,
  type DrupalFixture,
} from './drupal-test-helpers.ts';

let fixture: DrupalFixture;
let env: DrupalEnv;
// Fresh names each run: the shared site may have seen an earlier run.
const tag = randomBytes(4).toString('hex');
const ids = { keyApi: `scan_key_api_${tag}`, override: `scan_override_${tag}`, route: `scan_route_${tag}`, drush: `scan_drush_${tag}` };
const secrets = {
  viaKeyApi: `kbscan-keyapi-${randomBytes(12).toString('hex')}`,
  viaOverride: `kbscan-override-${randomBytes(12).toString('hex')}`,
  viaRoute: `kbscan-route-${randomBytes(12).toString('hex')}`,
  viaDrush: `kbscan-drush-${randomBytes(12).toString('hex')}`,
};

beforeAll(async () => {
  fixture = registeredDrupal();
  env = fixture.env;
  drupalPhp(
    env,
    `$key = \\Drupal\\key\\Entity\\Key::create(['id' => $input['id'], 'label' => 'Scan', 'key_type' => 'authentication', 'key_provider' => 'keybridge', 'key_input' => 'text_field']);
     $key->setKeyValue($input['value']);
     $key->save();`,
    { id: ids.keyApi, value: secrets.viaKeyApi },
  );
  drushOk(env, ['keybridge:set', ids.override, '--value-file=-'], { input: secrets.viaOverride });
  drupalPhp(
    env,
    `\\Drupal\\key\\Entity\\KeyConfigOverride::create(['id' => $input, 'label' => 'Scan mail', 'config_type' => 'system.simple', 'config_prefix' => '', 'config_name' => 'system.site', 'config_item' => 'mail', 'key_id' => $input])->save();
     \\Drupal::configFactory()->getEditable('system.site')->set('mail', NULL)->save();`,
    ids.override,
  );
  const cookie = await adminSession(env);
  const route = await callOperation(env, cookie, await csrfToken(env, cookie), 'keys.set', { name: ids.route, value: secrets.viaRoute });
  expect(route.status).toBe(200);
  drushOk(env, ['keybridge:set', ids.drush, '--value-file=-'], { input: secrets.viaDrush });
});

it('reads every value back, and pages render with the agent up and down', async () => {
  expect(keyValueThroughKey(env, ids.keyApi)).toBe(secrets.viaKeyApi);
  expect(drupalPhp(env, "echo \\Drupal::config('system.site')->get('mail');")).toBe(secrets.viaOverride);
  expect(keyValueThroughKey(env, ids.route)).toBe(secrets.viaRoute);
  expect(drushOk(env, ['keybridge:get', ids.drush])).toBe(secrets.viaDrush);
  const cookie = await adminSession(env);
  for (const path of ['/', '/admin/reports/status', '/admin/config/system/keys', '/admin/config/system/keybridge']) {
    expect((await fetch(`${env.DRUPAL_URL}${path}`, { headers: { cookie } })).status).toBe(200);
  }
  await fixture.stopAgent();
  try {
    // The Key module gets no value (and no error page): the provider logs and returns none.
    expect(keyValueThroughKey(env, ids.keyApi)).toBeNull();
    for (const path of ['/', '/admin/reports/status', `/admin/config/system/keys/manage/${ids.keyApi}`]) {
      await fetch(`${env.DRUPAL_URL}${path}`, { headers: { cookie } });
    }
  } finally {
    await fixture.startAgent();
  }
  // Flush what Drupal and the agent buffer, so the scan sees it.
  drushOk(env, ['cache:rebuild']);
  await new Promise((resolve) => setTimeout(resolve, 1500));
});

it('no value appears in any file of the Drupal tree, its databases, logs or agent homes (raw, base64, hex)', () => {
  const dir = env.DRUPAL_FIXTURE_DIR;
  // vendor/ and core/ are code downloaded before any secret existed.
  const skip = [join(dir, 'project', 'vendor'), join(dir, 'project', 'web', 'core'), join(dir, 'coder')];
  const files = filesUnder(dir).filter((file) => !skip.some((prefix) => file.startsWith(`${prefix}/`)));
  expect(files).toContain(env.DRUPAL_DB);
  expect(files.some((file) => file.endsWith('php-error.log') || file.endsWith('php.log'))).toBe(true);
  const needles = Object.entries(secrets).flatMap(([name, value]) => encodings(value).map((bytes) => ({ name, bytes })));
  const leaks: string[] = [];
  for (const file of files) {
    const content = readFileSync(file);
    for (const { name, bytes } of needles) if (content.includes(bytes)) leaks.push(`${relative(dir, file)}: ${name}`);
  }
  expect(leaks).toEqual([]);
  // The database does hold the KEKs: the scan would see a value stored the same way.
  expect(readFileSync(env.DRUPAL_DB).includes(Buffer.from('kb1$'))).toBe(true);
});
