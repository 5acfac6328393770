/**
 * Uninstalling the module loses nothing: it is refused while a value cannot be read (agent
 * down), and then every Key that used keybridge gets its value back in Key's configuration
 * provider, byte for byte, before Drupal deletes anything. Runs last in the Drupal pass.
 */
import { beforeAll, expect, it } from 'vitest';
import { drupalPhp, drush, drushOk, registeredDrupal, type DrupalEnv, type DrupalFixture } from './drupal-test-helpers.ts';

let fixture: DrupalFixture;
let env: DrupalEnv;

/** Every Key entity's provider and value (base64), read through Key. */
const keys = (): Record<string, { provider: string; value: string | null }> =>
  JSON.parse(
    drupalPhp(
      env,
      `$out = [];
       foreach (\\Drupal::entityTypeManager()->getStorage('key')->loadMultiple() as $id => $key) {
         $value = $key->getKeyValue(TRUE);
         $out[$id] = ['provider' => $key->getKeyProvider()->getPluginId(), 'value' => $value === NULL ? NULL : base64_encode($value)];
       }
       echo json_encode($out);`,
    ),
  );

beforeAll(() => {
  fixture = registeredDrupal();
  env = fixture.env;
  drushOk(env, ['keybridge:set', 'uninstall_text', '--value-file=-'], { input: 'text value to keep' });
  drushOk(env, ['keybridge:set', 'uninstall_bytes', '--value-file=-'], { input: Buffer.from([0, 0xff, 0x80, 10]) });
});

it('is refused, naming the key and the reason, while the agent is down; nothing changes', async () => {
  const before = keys();
  await fixture.stopAgent();
  try {
    const run = drush(env, ['pm:uninstall', 'keybridge', '-y']);
    expect(run.status).not.toBe(0);
    expect(run.stdout + run.stderr).toContain('uninstall_text');
    expect(run.stdout + run.stderr).toMatch(/agent-unreachable/);
  } finally {
    await fixture.startAgent();
  }
  expect(drushOk(env, ['pm:list', '--status=enabled', '--format=json'])).toContain('"keybridge"');
  expect(keys()).toEqual(before);
});

it('gives every keybridge key its value back in the configuration provider, then the module goes', () => {
  const before = keys();
  const ours = Object.entries(before).filter(([, key]) => key.provider === 'keybridge');
  expect(ours.length).toBeGreaterThanOrEqual(2);
  const run = drush(env, ['pm:uninstall', 'keybridge', '-y']);
  expect(run.status, run.stderr).toBe(0);
  expect(drushOk(env, ['pm:list', '--status=enabled', '--format=json'])).not.toContain('"keybridge"');
  const after = keys();
  for (const [id, key] of ours) {
    expect(after[id], id).toEqual({ provider: 'config', value: key.value });
  }
  expect(Buffer.from(after.uninstall_bytes.value ?? '', 'base64')).toEqual(Buffer.from([0, 0xff, 0x80, 10]));
  expect(drushOk(env, ['config:get', 'key.key.uninstall_text'])).not.toContain('kb1$');
});
