/**
 * Moving a Drupal site off Lockr: Key entities with Lockr's provider (wrapping key in the
 * provider setting `encoded`) and lockr_secret config entities (`info.wrapping_key`), with
 * ciphertexts made by the Lockr test helper as Lockr's API returned them.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { lockrItem } from '../../../sidecar/test-helpers/lockr-item.ts';
import { drupalPhp, drush, drushOk, keyValueThroughKey, registeredDrupal, type DrupalEnv } from './drupal-test-helpers.ts';

let env: DrupalEnv;
const scratch = mkdtempSync(join(tmpdir(), 'keybridge-lockr-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const VALUES = {
  lockr_mail: 'smtp password ünïcode',
  lockr_api: 'api key from lockr 42',
  lockr_secret_only: 'secret without a key entity',
};
const items = Object.entries(VALUES).map(([name, value]) => lockrItem(name, value));

/** What Lockr's Drupal module left in configuration: the wrapping keys, no values. */
function writeLockrConfig(): void {
  drupalPhp(
    env,
    `$factory = \\Drupal::configFactory();
     $key = fn ($id, $settings) => $factory->getEditable('key.key.' . $id)->setData([
       'langcode' => 'en', 'status' => TRUE, 'dependencies' => ['module' => ['lockr']],
       'id' => $id, 'label' => 'Lockr ' . $id, 'description' => '', 'key_type' => 'authentication',
       'key_type_settings' => [], 'key_provider' => 'lockr', 'key_provider_settings' => $settings,
       'key_input' => 'text_field', 'key_input_settings' => [],
     ])->save();
     // The older layout: the wrapping key in the Key's provider settings.
     $key('lockr_mail', ['encoded' => $input['lockr_mail']]);
     // The newer one: a lockr_secret config entity holds it, pointing at its Key.
     $key('lockr_api', []);
     $factory->getEditable('lockr.lockr_secret.lockr_api')->setData(['id' => 'lockr_api', 'key_id' => 'lockr_api', 'info' => ['wrapping_key' => $input['lockr_api']]])->save();
     $factory->getEditable('lockr.lockr_secret.lockr_secret_only')->setData(['id' => 'lockr_secret_only', 'key_id' => '', 'info' => ['wrapping_key' => $input['lockr_secret_only']]])->save();
     \\Drupal::entityTypeManager()->getStorage('key')->resetCache();`,
    Object.fromEntries(items.map((item) => [item.name, item.encoded])),
  );
}

/** The export a site owner hands over: names and ciphertexts only. */
function exportFile(name: string, list: { name: string; ciphertext: string }[]): string {
  const file = join(scratch, name);
  writeFileSync(file, JSON.stringify(list.map(({ name, ciphertext }) => ({ name, ciphertext }))));
  return file;
}

beforeAll(() => {
  env = registeredDrupal().env;
  writeLockrConfig();
});

it('refuses an export with an item this site holds no wrapping key for, importing nothing', () => {
  const run = drush(env, ['keybridge:import-lockr', exportFile('unknown.json', [...items, lockrItem('lockr_unknown', 'x')])]);
  expect(run.status).toBe(1);
  expect(run.stderr).toContain('lockr_unknown');
  expect(drushOk(env, ['config:get', 'key.key.lockr_mail', 'key_provider'])).toContain('lockr');
});

it('refuses a tampered ciphertext (the MAC decides) and imports none of the batch', () => {
  const tampered = items.map((item, index) =>
    index === 1 ? { ...item, ciphertext: `${item.ciphertext.slice(0, 20)}A${item.ciphertext.slice(21)}` } : item,
  );
  const run = drush(env, ['keybridge:import-lockr', exportFile('tampered.json', tampered)]);
  expect(run.status).toBe(1);
  expect(run.stderr).toMatch(/lockr-mac-mismatch|ciphertext-invalid/);
  expect(drushOk(env, ['config:get', 'key.key.lockr_mail', 'key_provider'])).toContain('lockr');
  expect(drush(env, ['config:get', 'key.key.lockr_secret_only']).status).not.toBe(0);
});

it('imports every item, switches its Key to keybridge, shows progress and reads each value back equal', () => {
  const run = drush(env, ['keybridge:import-lockr', exportFile('export.json', items), '--format=json']);
  expect(run.status, run.stderr).toBe(0);
  expect(run.stderr).toMatch(/1\/3 \S+ imported, read back: ok/);
  expect(run.stderr).toMatch(/3\/3 \S+ imported, read back: ok/);
  const rows = JSON.parse(run.stdout) as { name: string; read_back: string }[];
  expect(rows.map((row) => row.name).sort()).toEqual(Object.keys(VALUES).sort());
  expect(JSON.stringify(rows)).not.toContain('kb1$');
  for (const [name, value] of Object.entries(VALUES)) {
    expect(keyValueThroughKey(env, name)).toBe(value);
    expect(drushOk(env, ['config:get', `key.key.${name}`, 'key_provider'])).toContain('keybridge');
    const config = drushOk(env, ['config:get', `key.key.${name}`]);
    expect(config).not.toContain('lockr\n');
    expect(config).not.toContain('encoded');
  }
  // The Lockr copies stay until the owner removes them: nothing was deleted.
  expect(drushOk(env, ['config:get', 'lockr.lockr_secret.lockr_api', 'info.wrapping_key'])).toContain('$2$');
});
