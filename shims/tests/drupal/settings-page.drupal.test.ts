/**
 * The settings page and its operation route on a real Drupal: who may call it, Drupal's
 * CSRF token, the spec's admin operations only, and no KEK ever in an answer or the page.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  SETTINGS_PATH,
  adminSession,
  callOperation,
  csrfToken,
  drushOk,
  keyValueThroughKey,
  logInToDrupal,
  registeredDrupal,
  type DrupalEnv,
} from './drupal-test-helpers.ts';

let env: DrupalEnv;
let cookie: string;
let token: string;

beforeAll(async () => {
  env = registeredDrupal().env;
  cookie = await adminSession(env);
  token = await csrfToken(env, cookie);
});

describe('the settings page', () => {
  it('is under Configuration → System, embeds the bundle with drupalSettings and shows no KEK', async () => {
    const response = await fetch(`${env.DRUPAL_URL}${SETTINGS_PATH}`, { headers: { cookie } });
    expect(response.status).toBe(200);
    const html = await response.text();
    expect(html).toContain('id="keybridge-admin"');
    // The library's scripts, aggregated or not: the adapter and the shared bundle.
    const scripts = [...html.matchAll(/<script src="([^"]+)"/g)].map((match) => match[1].replace(/&amp;/g, '&'));
    const js = (
      await Promise.all(scripts.map(async (src) => (await fetch(new URL(src, env.DRUPAL_URL), { headers: { cookie } })).text()))
    ).join('\n');
    expect(js).toMatch(/window\.keybridgeAdmin\s*=\s*drupalSettings\.keybridgeAdmin/);
    expect(js).toContain("getElementById('keybridge-admin')");
    expect(html).toContain('"keybridgeAdmin"');
    expect(html.replace(/\\\//g, '/')).toContain(`"endpoint":"${SETTINGS_PATH}/op/"`);
    expect(html).not.toContain('kb1$');
    expect(html).toContain(env.KEYBRIDGE_TOKEN_FILE);
    const config = await fetch(`${env.DRUPAL_URL}/admin/config/system`, { headers: { cookie } });
    expect(await config.text()).toContain(`href="${SETTINGS_PATH}"`);
  });

  it('answers 403 to a user without "administer keybridge", page and route alike', async () => {
    const name = `editor_${Date.now()}`;
    drushOk(env, ['user:create', name, `--mail=${name}@example.com`]);
    const editor = await logInToDrupal(env, name);
    expect((await fetch(`${env.DRUPAL_URL}${SETTINGS_PATH}`, { headers: { cookie: editor } })).status).toBe(403);
    const answer = await callOperation(env, editor, token, 'status');
    expect(answer.status).toBe(403);
    expect(JSON.stringify(answer.body ?? {})).not.toContain('site-registered');
    expect((await fetch(`${env.DRUPAL_URL}${SETTINGS_PATH}`)).status).toBe(403);
  });
});

describe('the operation route', () => {
  it('runs status with the page token, answering no-store JSON', async () => {
    const answer = await callOperation(env, cookie, token, 'status');
    expect(answer.status).toBe(200);
    expect(answer.cacheControl).toContain('no-store');
    const rows = (answer.body?.rows ?? []) as { id: string; severity: string }[];
    expect(rows.map((row) => row.id)).toContain('site-registered');
    expect(rows.find((row) => row.id === 'site-registered')?.severity).toBe('ok');
  });

  it('refuses a forged or missing CSRF token before anything reaches the agent', async () => {
    const forged = await callOperation(env, cookie, `${token.slice(0, -4)}AAAA`, 'keys.set', {
      name: 'forged_key',
      value: 'forged value 1',
    });
    expect(forged.status).toBe(403);
    const missing = await callOperation(env, cookie, null, 'keys.set', { name: 'forged_key', value: 'forged value 2' });
    expect(missing.status).toBe(403);
    expect(keyValueThroughKey(env, 'forged_key')).toBeNull();
  });

  it('stores a key as a Key entity with the keybridge provider; the answer has no KEK', async () => {
    const answer = await callOperation(env, cookie, token, 'keys.set', { name: 'route_key', value: 'route value ✓', label: 'Route key' });
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    expect(answer.body).toMatchObject({ name: 'route_key', version: expect.any(Number) });
    expect(JSON.stringify(answer.body)).not.toContain('kb1$');
    expect(keyValueThroughKey(env, 'route_key')).toBe('route value ✓');
    expect(drushOk(env, ['config:get', 'key.key.route_key', 'key_provider'])).toContain('keybridge');

    const generated = await callOperation(env, cookie, token, 'keys.generate', { name: 'route_generated', bits: 128 });
    expect(generated.status).toBe(200);
    expect(JSON.stringify(generated.body)).not.toContain('kb1$');
    const rotated = await callOperation(env, cookie, token, 'keys.rotate', { name: 'route_key' });
    expect(rotated.status).toBe(200);
    expect(JSON.stringify(rotated.body)).not.toContain('kb1$');
    expect(keyValueThroughKey(env, 'route_key')).toBe('route value ✓');

    const listed = await callOperation(env, cookie, token, 'keys.list');
    expect(JSON.stringify(listed.body)).toContain('route_key');

    const deleted = await callOperation(env, cookie, token, 'keys.delete', { name: 'route_generated' });
    expect(deleted.status).toBe(200);
    expect(keyValueThroughKey(env, 'route_generated')).toBeNull();
  });

  it('refuses what the spec does not allow, naming the field, and loses nothing', async () => {
    const kek = await callOperation(env, cookie, token, 'keys.set', { name: 'route_key', value: 'x', wrapping_key: 'kb1$AAAA' });
    expect(kek.status).toBe(400);
    expect(kek.body).toMatchObject({ type: 'invalid-field', field: 'wrapping_key' });
    expect(kek.contentType).toContain('application/problem+json');
    const unknown = await callOperation(env, cookie, token, 'keys.set', { name: 'route_key', value: 'x', colour: 'red' });
    expect(unknown.body).toMatchObject({ type: 'invalid-field', field: 'colour' });
    const wrongType = await callOperation(env, cookie, token, 'keys.generate', { name: 'route_key', bits: '256' });
    expect(wrongType.body).toMatchObject({ type: 'invalid-field', field: 'bits' });
    const badName = await callOperation(env, cookie, token, 'keys.set', { name: 'Not A Machine Name', value: 'x' });
    expect(badName.status).toBe(422);
    expect(badName.body).toMatchObject({ type: 'invalid-name', field: 'name' });
    const notJson = await callOperation(env, cookie, token, 'keys.set', '[1,2]');
    expect(notJson.body).toMatchObject({ type: 'bad-request' });
    // keys.get is not an admin operation: an admin screen never shows a stored value.
    const get = await callOperation(env, cookie, token, 'keys.get', { name: 'route_key' });
    expect(get.status).toBe(404);
    expect(JSON.stringify(get.body)).not.toContain('route value');
    expect(keyValueThroughKey(env, 'route_key')).toBe('route value ✓');
  });

  it('refuses GET', async () => {
    const response = await fetch(`${env.DRUPAL_URL}${SETTINGS_PATH}/op/status`, { headers: { cookie, 'x-csrf-token': token } });
    expect(response.status).toBe(405);
  });
});
