/**
 * The plugin's REST route (Keybridge_Rest) from a browser, with WordPress's own cookie
 * authentication: who may call it, which operations and fields pass, and that refused calls
 * never reach the agent (its access log shows no request for them).
 */
import { randomBytes } from 'node:crypto';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  agentRequestCount,
  callRoute,
  ensureRegistered,
  logIn,
  openAdminBrowser,
  openBrowser,
  openSettings,
  routeEndpoint,
  runWordPressPhp,
  settledAgentRequestCount,
  wordPressEnv,
  type Browser,
} from './wp-browser.ts';

const env = wordPressEnv();
let admin: Browser;
let page: Page;

/**
 * Runs `refused` and proves that none of its calls reached the agent: a status call made
 * after it is then the agent's only new request (the log is written in order).
 */
async function neverReachesAgent(refused: () => Promise<void>): Promise<void> {
  // Settled first: the settings page's own status and keys.list calls may still be arriving.
  const before = await settledAgentRequestCount(env);
  await refused();
  expect((await callRoute(page, 'status')).status).toBe(200);
  await expect.poll(() => agentRequestCount(env), { timeout: 10_000 }).toBeGreaterThan(before);
  await new Promise((resolve) => setTimeout(resolve, 500));
  expect(agentRequestCount(env)).toBe(before + 1);
}

describe('Keybridge_Rest', () => {
  beforeAll(async () => {
    admin = await openAdminBrowser(env, 15_000);
    page = admin.page;
    await openSettings(page, env);
    await ensureRegistered(page);
  });

  afterAll(async () => {
    await admin?.close();
  });

  it('answers an administrator with the status, marked no-store', async () => {
    const answer = await callRoute(page, 'status');
    expect(answer.status).toBe(200);
    expect(answer.headers['cache-control']).toContain('no-store');
    expect(answer.body?.registered).toBe(true);
    expect(Array.isArray(answer.body?.rows)).toBe(true);
  });

  it('refuses a request without the wp_rest nonce, before the agent', async () => {
    await neverReachesAgent(async () => {
      const answer = await callRoute(page, 'status', {}, false);
      expect([401, 403]).toContain(answer.status);
      const set = await callRoute(page, 'keys.set', { name: 'rest/no-nonce', value: 'x' }, false);
      expect([401, 403]).toContain(set.status);
      const forged = await callRoute(page, 'keys.list', {}, 'not-a-nonce');
      expect([401, 403]).toContain(forged.status);
    });
  });

  it('refuses a logged-in subscriber with 403, before the agent', async () => {
    const password = randomBytes(12).toString('hex');
    runWordPressPhp(
      env,
      `$id = username_exists( 'kb_subscriber' );
       if ( ! $id ) {
         $id = wp_insert_user( array( 'user_login' => 'kb_subscriber', 'user_email' => 'kb_subscriber@example.com', 'user_pass' => ${JSON.stringify(password)}, 'role' => 'subscriber' ) );
       }
       wp_set_password( ${JSON.stringify(password)}, $id );`,
    );
    const subscriber = await openBrowser();
    try {
      const own = subscriber.page;
      await logIn(own, env, 'kb_subscriber', password);
      // A real nonce for this user, as WordPress hands it to any logged-in script.
      const nonce = await own.evaluate(
        async (url) => (await fetch(url, { credentials: 'same-origin' })).text(),
        `${env.WP_URL}/wp-admin/admin-ajax.php?action=rest-nonce`,
      );
      expect(nonce).toMatch(/^[0-9a-f]{10}$/);
      await neverReachesAgent(async () => {
        for (const operation of ['status', 'keys.list', 'keys.set']) {
          const answer = await callRoute(
            own,
            operation,
            operation === 'keys.set' ? { name: 'rest/subscriber', value: 'x' } : {},
            nonce,
            routeEndpoint(env),
          );
          expect({ operation, status: answer.status }).toEqual({ operation, status: 403 });
        }
      });
      await own.goto(`${env.WP_URL}/wp-admin/options-general.php?page=keybridge`);
      expect(await own.locator('#keybridge-admin').count()).toBe(0);
    } finally {
      await subscriber.close();
    }
  });

  it('answers 404 for operations an admin screen may not call (keys.get, export, import.lockr)', async () => {
    await neverReachesAgent(async () => {
      for (const operation of ['keys.get', 'export', 'import.lockr', 'keys.fetch', 'health', 'nosuch']) {
        const answer = await callRoute(page, operation, { name: 'x' });
        expect({ operation, status: answer.status, type: answer.body?.type }).toEqual({ operation, status: 404, type: 'not-found' });
      }
    });
  });

  it('refuses a wrapping_key, unknown fields and wrong types from the browser with 400 naming the field', async () => {
    await neverReachesAgent(async () => {
      const kek = `kb1$${randomBytes(32).toString('base64url')}`;
      const withKek = await callRoute(page, 'keys.set', { name: 'rest/kek', value: 'x', wrapping_key: kek });
      expect(withKek.status).toBe(400);
      expect(withKek.body).toMatchObject({ type: 'invalid-field', field: 'wrapping_key', status: 400 });
      expect(JSON.stringify(withKek.body)).not.toContain(kek);
      const rotate = await callRoute(page, 'keys.rotate', { name: 'rest/kek', wrapping_key: kek });
      expect(rotate.body).toMatchObject({ field: 'wrapping_key', status: 400 });
      const unknown = await callRoute(page, 'register', { email: 'a@example.com', admin: true });
      expect(unknown.body).toMatchObject({ type: 'invalid-field', field: 'admin', status: 400 });
      const bits = await callRoute(page, 'keys.generate', { name: 'rest/bits', bits: '256' });
      expect(bits.body).toMatchObject({ type: 'invalid-field', field: 'bits', status: 400 });
      const missing = await callRoute(page, 'keys.delete', {});
      expect(missing.body).toMatchObject({ field: 'name', status: 400 });
      const list = await callRoute(page, 'keys.set', '["name"]');
      expect(list.body).toMatchObject({ type: 'bad-request', status: 400 });
    });
  });

  it('never hands a wrapping key to the browser', async () => {
    const written = await callRoute(page, 'keys.generate', { name: 'rest/no-kek', bits: 128 });
    expect(written.status).toBe(200);
    expect(written.body).toMatchObject({ name: 'rest/no-kek' });
    expect(written.body).not.toHaveProperty('wrapping_key');
    const rotated = await callRoute(page, 'keys.rotate', { name: 'rest/no-kek' });
    expect(rotated.status).toBe(200);
    expect(JSON.stringify(rotated.body)).not.toContain('kb1$');
    expect((await callRoute(page, 'keys.delete', { name: 'rest/no-kek' })).body).toEqual({ name: 'rest/no-kek', deleted: true });
  });

  it('passes the agent problem through with its status and field', async () => {
    const answer = await callRoute(page, 'keys.rotate', { name: 'rest/never-stored' });
    expect(answer.status).toBe(404);
    expect(answer.body).toMatchObject({ type: 'key-not-found', field: 'name' });
    expect(answer.headers['content-type']).toContain('application/problem+json');
  });
});
