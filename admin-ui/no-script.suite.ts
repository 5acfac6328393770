/**
 * Settings → Keybridge in a browser without JavaScript: the page still shows the status
 * table (rendered by PHP inside <noscript>), the protected options and the configuration
 * lines — the token file's path, never the token.
 */
import { readFileSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SETTINGS_PATH, logIn, openBrowser, wordPressEnv, type Browser } from './wp-browser.ts';

const env = wordPressEnv();

describe('the settings page without JavaScript', () => {
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    browser = await openBrowser({ javaScript: false });
    page = browser.page;
    page.setDefaultTimeout(15_000);
    await logIn(page, env);
    await page.goto(`${env.WP_URL}${SETTINGS_PATH}`);
  });

  afterAll(async () => {
    await browser?.close();
  });

  it('shows the status rows with their severity as words', async () => {
    const text = await page.locator('#keybridge-admin noscript').textContent();
    expect(text).toContain('Agent reachable and version');
    expect(text).toContain('At-rest protection');
    expect(text).toMatch(/Warning/);
  });

  it('lists the configuration and the protected options, never the token', async () => {
    const html = await page.content();
    expect(html).toContain('KEYBRIDGE_AGENT');
    expect(html).toContain(env.KEYBRIDGE_AGENT.replace(/&/g, '&amp;'));
    expect(html).toContain(env.KEYBRIDGE_TOKEN_FILE);
    expect(html).toContain('wp keybridge option protect');
    const token = readFileSync(env.KEYBRIDGE_TOKEN_FILE, 'utf8').trim();
    expect(token.length).toBeGreaterThan(10);
    expect(html).not.toContain(token);
    expect(html).not.toMatch(/critical error|Fatal error/i);
  });
});
