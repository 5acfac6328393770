/**
 * The agent goes away under a running WordPress (fixtures/wordpress/agent.sh stop): the
 * settings page still renders, with the agent row red, a clear message and the forms that
 * cannot work disabled — no PHP fatal. The agent is started again whatever happens.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attachWordPress } from '../fixtures/wordpress/wordpress.ts';
import { callRoute, openAdminBrowser, openSettings, wordPressEnv, type Browser } from './wp-browser.ts';

const env = wordPressEnv();
const fixture = attachWordPress(process.env.KEYBRIDGE_WP_ENV ?? '');
let browser: Browser;
let page: Page;

describe('with the agent stopped', () => {
  beforeAll(async () => {
    browser = await openAdminBrowser(env, 20_000);
    page = browser.page;
  });

  afterAll(async () => {
    await browser?.close();
  });

  it('shows the agent row red, says so, disables the forms, and has no PHP error', async () => {
    await fixture.stopAgent();
    try {
      await openSettings(page, env);
      const agentRow = page.locator('#keybridge-admin tr[data-row="agent"]');
      expect(await agentRow.locator('.kb-severity').getAttribute('data-severity')).toBe('error');
      await expect(agentRow.locator('.kb-severity-text').textContent()).resolves.toBe('Error');
      await expect(agentRow.locator('.kb-value').textContent()).resolves.toMatch(/\S/);
      const alert = page.locator('#keybridge-admin [role="alert"]');
      await expect(alert.textContent()).resolves.toContain('agent cannot be reached');
      expect(await page.locator('#keybridge-admin .kb-keys').isVisible()).toBe(false);
      const controls = await page
        .locator('#keybridge-admin .kb-form :is(input, button)')
        .evaluateAll((nodes) => nodes.map((node) => node.matches(':disabled')));
      expect(controls.length).toBeGreaterThan(0);
      expect(controls.every(Boolean)).toBe(true);
      const html = await page.content();
      expect(html).not.toMatch(/critical error|Fatal error|Warning:|Uncaught/i);
      // The route answers the agent's absence as a problem, not a crash.
      const list = await callRoute(page, 'keys.list');
      expect(list.status).toBe(502);
      expect(list.body).toMatchObject({ type: 'agent-unreachable', status: 502 });
      expect(JSON.stringify(list.body)).not.toMatch(/Bearer|agent\.token"/);
    } finally {
      await fixture.startAgent();
    }
  });

  it('is back to normal once the agent runs again', async () => {
    await openSettings(page, env);
    const agentRow = page.locator('#keybridge-admin tr[data-row="agent"]');
    expect(await agentRow.locator('.kb-severity').getAttribute('data-severity')).toBe('ok');
    expect(await page.locator('#keybridge-admin [role="alert"] .kb-notice').count()).toBe(0);
    expect((await callRoute(page, 'keys.list')).status).toBe(200);
  });
});
