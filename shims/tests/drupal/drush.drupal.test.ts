/**
 * Every drush keybridge:* command, each run as its own process against the real site.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { drush, drushOk, keyValueThroughKey, registeredDrupal, type DrupalEnv } from './drupal-test-helpers.ts';

let env: DrupalEnv;
const scratch = mkdtempSync(join(tmpdir(), 'keybridge-drush-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

beforeAll(() => {
  env = registeredDrupal().env;
});

it('keybridge:status prints the status table, and every row as JSON with --format=json', () => {
  const table = drushOk(env, ['keybridge:status']);
  expect(table).toContain('Agent reachable and version');
  expect(table).toContain('Site registered');
  const rows = JSON.parse(drushOk(env, ['keybridge:status', '--format=json'])) as Record<
    string,
    { id: string; severity: string; title: string }
  >;
  expect(Object.keys(rows)).toEqual(expect.arrayContaining(['agent', 'site-registered', 'environment', 'keys-stored']));
  expect(rows.agent.severity).toBe('ok');
});

it('keybridge:set stores bytes from a file or standard input; keybridge:get prints them byte for byte', () => {
  const file = join(scratch, 'value');
  writeFileSync(file, 'from a file\n');
  const set = JSON.parse(
    drushOk(env, ['keybridge:set', 'drush_file_key', `--value-file=${file}`, '--label=Drush file key', '--format=json']),
  );
  expect(set).toEqual({ name: 'drush_file_key', version: expect.any(Number) });
  expect(JSON.stringify(set)).not.toContain('kb1$');
  expect(drushOk(env, ['keybridge:get', 'drush_file_key'])).toBe('from a file\n');
  expect(drushOk(env, ['config:get', 'key.key.drush_file_key', 'label'])).toContain('Drush file key');

  const bytes = Buffer.from([0, 1, 2, 0xff, 0xfe, 0x80, 10, 13]);
  drushOk(env, ['keybridge:set', 'drush_stdin_key', '--value-file=-'], { input: bytes });
  const run = spawnSync(env.DRUSH, [`--root=${env.DRUPAL_ROOT}`, `--uri=${env.DRUPAL_URL}`, 'keybridge:get', 'drush_stdin_key']);
  expect(Buffer.compare(run.stdout, bytes)).toBe(0);
});

it('keybridge:set --generate stores random bits, read by Key like any value', () => {
  drushOk(env, ['keybridge:set', 'drush_generated', '--generate=256']);
  const value = drushOk(env, ['php:eval', "echo strlen(\\Drupal::service('key.repository')->getKey('drush_generated')->getKeyValue());"]);
  expect(value.trim()).toBe('32');
});

it('refuses a value on the command line, a bad name and a missing key with a clear error (exit 1)', () => {
  const noValue = drush(env, ['keybridge:set', 'drush_no_value']);
  expect(noValue.status).toBe(1);
  expect(noValue.stderr).toContain('--value-file');
  const badName = drush(env, ['keybridge:set', 'Bad Name', '--value-file=-'], { input: 'x' });
  expect(badName.status).toBe(1);
  expect(badName.stderr).toContain('invalid-name');
  const missing = drush(env, ['keybridge:get', 'drush_never_set']);
  expect(missing.status).toBe(1);
  expect(missing.stderr).toContain('key-not-found');
  expect(keyValueThroughKey(env, 'drush_never_set')).toBeNull();
});

it('keybridge:delete asks first, and deletes the value and the Key only when told yes', () => {
  drushOk(env, ['keybridge:set', 'drush_doomed', '--value-file=-'], { input: 'doomed value' });
  const refused = drush(env, ['keybridge:delete', 'drush_doomed', '--no']);
  expect(refused.status).not.toBe(0);
  expect(drushOk(env, ['keybridge:get', 'drush_doomed'])).toBe('doomed value');
  drushOk(env, ['keybridge:delete', 'drush_doomed', '-y']);
  expect(drush(env, ['config:get', 'key.key.drush_doomed']).status).not.toBe(0);
  const list = drushOk(env, ['php:eval', "echo json_encode(\\Drupal::service('keybridge.agent')->client()->keys_list());"]);
  expect(list).not.toContain('drush_doomed');
});

it('keybridge:register, cert:create and cert:renew call the agent and print its answer', () => {
  const again = drush(env, ['keybridge:register', '--email=admin@example.com']);
  expect(again.status).toBe(1);
  expect(again.stderr).toContain('already-registered');
  const created = JSON.parse(
    drushOk(env, [
      'keybridge:cert:create',
      '--country=NL',
      '--state=Noord-Holland',
      '--locality=Amsterdam',
      '--org=Fixture BV',
      '--format=json',
    ]),
  );
  expect(JSON.stringify(created)).toContain('Fixture BV');
  const renewed = JSON.parse(drushOk(env, ['keybridge:cert:renew', '--format=json']));
  expect(renewed.serial).toEqual(expect.any(String));
  expect(drushOk(env, ['keybridge:get', 'drush_file_key'])).toBe('from a file\n');
  const badCountry = drush(env, ['keybridge:cert:create', '--country=nl', '--state=x', '--locality=y', '--org=z']);
  expect(badCountry.status).toBe(1);
});

it('keybridge:production asks first; told no, nothing changes', () => {
  const refused = drush(env, ['keybridge:production', '--no']);
  expect(refused.status).not.toBe(0);
  const rows = JSON.parse(drushOk(env, ['keybridge:status', '--format=json']));
  expect(rows.environment.value).toContain('development');
});
