/**
 * The admin screen's main flow in a real WordPress with a real agent, as an administrator
 * would go through it: log in, Settings → Keybridge on an unregistered site (certificate rows
 * red), register, every row turns ok (at-rest stays a warning: the embedded default's software
 * root key), add a key, rotate it, generate one, delete one after confirming. A key's value
 * never shows in the page afterwards. Runs first (admin-screen.wp.test.ts): it expects the
 * fixture's site to be unregistered.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ARTIFACTS,
  formShown,
  openAdminBrowser,
  openSettings,
  openTab,
  runWordPressPhp,
  success,
  settledAgentRequestCount,
  wordPressEnv,
  type Browser,
} from './wp-browser.ts';

const env = wordPressEnv();
let browser: Browser;
let page: Page;

const KEY = 'admin-ui/flow-token';
const GENERATED = 'admin-ui/flow-generated';
const VALUE = `flow-value-${randomBytes(12).toString('hex')}`;

function row(id: string) {
  return page.locator(`#keybridge-admin tr[data-row="${id}"]`);
}

function keyRow(name: string) {
  return page.locator(`#keybridge-admin .kb-keys-table tr[data-key="${name}"]`);
}

async function severity(id: string): Promise<string | null> {
  return row(id).locator('.kb-severity').getAttribute('data-severity');
}

describe('Settings → Keybridge', () => {
  beforeAll(async () => {
    browser = await openAdminBrowser(env, 15_000);
    page = browser.page;
  });

  afterAll(async () => {
    await browser?.close();
  });

  it('loads the bundle on its own page only', async () => {
    await page.goto(`${env.WP_URL}/wp-admin/`);
    expect(await page.locator('script[src*="keybridge-admin.js"], link[href*="keybridge-admin.css"]').count()).toBe(0);
    // Settings → Keybridge is in the menu (a hover flyout on the dashboard, so not clicked).
    await expect(page.locator('#adminmenu a[href="options-general.php?page=keybridge"]').textContent()).resolves.toBe('Keybridge');
    await openSettings(page, env);
    expect(await page.locator('script[src*="keybridge-admin.js"]').count()).toBe(1);
  });

  it('shows the status table of an unregistered site with the certificate rows red', async () => {
    await openSettings(page, env);
    await expect(page.locator('.wrap h1').textContent()).resolves.toBe('Keybridge');
    expect(await severity('agent')).toBe('ok');
    expect(await severity('certificate-found')).toBe('error');
    expect(await severity('certificate-valid')).toBe('error');
    // Severity is a word and an icon as well as a colour.
    await expect(row('certificate-found').locator('.kb-severity-text').textContent()).resolves.toBe('Error');
    expect(await row('certificate-found').locator('.kb-severity [aria-hidden="true"]').count()).toBe(1);
    expect(await formShown(page, 'register')).toBe(true);
    expect(await formShown(page, 'key')).toBe(false);
  });

  it('points the red rows at the register form on its tab, not at a command', async () => {
    const help = row('site-registered').locator('.kb-help');
    expect(await help.textContent()).not.toMatch(/keybridge register|wp keybridge/);
    const link = help.locator('a.kb-action-link');
    await expect(link.textContent()).resolves.toBe('Use the form "Register this site".');
    expect(await link.getAttribute('href')).toBe('#kb-form-register');
    await link.click();
    // The link opens the form's tab and moves the keyboard to its first field.
    expect(await page.getAttribute('#kb-tab-certificate', 'aria-selected')).toBe('true');
    expect(await page.locator('#kb-panel-status').isVisible()).toBe(false);
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('kb-register-email');
  });

  it('registers the site; every row turns ok but at-rest, a warning for the software root key', async () => {
    await page.fill('#kb-register-email', `admin-ui-flow-${Date.now()}@example.com`);
    await page.fill('#kb-register-site_name', 'admin-ui flow');
    await page.click('.kb-form-register button[type="submit"]');
    expect(await success(page)).toContain('registered');
    await expect.poll(() => formShown(page, 'key')).toBe(true);
    expect(await formShown(page, 'register')).toBe(false);
    const rows = await page
      .locator('#keybridge-admin tr[data-row]')
      .evaluateAll((trs) =>
        trs.map((tr) => [tr.getAttribute('data-row'), tr.querySelector('.kb-severity')?.getAttribute('data-severity')]),
      );
    expect(rows.length).toBe(11);
    for (const [id, level] of rows) expect({ id, level }).toEqual({ id, level: id === 'at-rest' ? 'warning' : 'ok' });
  });

  it('adds a key: listed, counted, the value field cleared and the value nowhere in the page', async () => {
    await openTab(page, 'keys');
    await page.fill('#kb-key-name', KEY);
    await page.fill('#kb-key-value', VALUE);
    await page.fill('#kb-key-label', 'Flow token');
    await page.click('.kb-form-key button[type="submit"]');
    expect(await success(page)).toContain(KEY);
    await keyRow(KEY).waitFor();
    await expect(keyRow(KEY).locator('.kb-key-label').textContent()).resolves.toBe('Flow token');
    expect(await page.inputValue('#kb-key-value')).toBe('');
    expect(Number.parseInt((await row('keys-stored').locator('.kb-value').textContent()) ?? '', 10)).toBeGreaterThanOrEqual(1);
    expect(await page.content()).not.toContain(VALUE);
    // The value went to keybridge, not nowhere: WordPress reads it back.
    expect(runWordPressPhp(env, `echo keybridge_get_key( ${JSON.stringify(KEY)} );`)).toBe(VALUE);
  });

  it('rotates the key: a new version, the same value', async () => {
    const before = await keyRow(KEY).locator('td').nth(2).textContent();
    await keyRow(KEY).locator('.kb-rotate').click();
    expect(await success(page)).toContain('rotated');
    await expect.poll(() => keyRow(KEY).locator('td').nth(2).textContent()).not.toBe(before);
    expect(runWordPressPhp(env, `echo keybridge_get_key( ${JSON.stringify(KEY)} );`)).toBe(VALUE);
  });

  it('generates a key', async () => {
    await page.fill('#kb-generate-name', GENERATED);
    expect(await page.inputValue('#kb-generate-bits')).toBe('256');
    await page.click('.kb-form-generate button[type="submit"]');
    expect(await success(page)).toContain(GENERATED);
    await keyRow(GENERATED).waitFor();
    expect(runWordPressPhp(env, `echo strlen( keybridge_get_key( ${JSON.stringify(GENERATED)} ) );`)).toBe('32');
  });

  it('deletes a key only after the confirmation', async () => {
    await keyRow(GENERATED).locator('.kb-delete').click();
    const question = keyRow(GENERATED).locator('.kb-confirm-text');
    await expect(question.textContent()).resolves.toContain(GENERATED);
    await keyRow(GENERATED).locator('.kb-confirm-no').click();
    expect(await keyRow(GENERATED).locator('.kb-delete').isVisible()).toBe(true);
    await keyRow(GENERATED).locator('.kb-delete').click();
    await keyRow(GENERATED).locator('.kb-confirm-yes').click();
    expect(await success(page)).toContain('deleted');
    await keyRow(GENERATED).waitFor({ state: 'detached' });
    expect(await keyRow(KEY).count()).toBe(1);
  });

  it('replaces the certificate with a custom one from the form; the rows stay ok', async () => {
    await openTab(page, 'certificate');
    await page.fill('#kb-certificate-country', 'NL');
    await page.fill('#kb-certificate-state', 'Noord-Holland');
    await page.fill('#kb-certificate-locality', 'Amsterdam');
    await page.fill('#kb-certificate-organization', 'Example BV');
    await page.click('.kb-form-certificate button[type="submit"]');
    expect(await success(page)).toContain('certificate');
    expect(await page.inputValue('#kb-certificate-organization')).toBe('');
    for (const id of ['certificate-found', 'certificate-valid', 'site-registered', 'keyservice'])
      expect({ id, level: await severity(id) }).toEqual({ id, level: 'ok' });
    expect(runWordPressPhp(env, `echo keybridge_get_key( ${JSON.stringify(KEY)} );`)).toBe(VALUE);
  });

  it('asks before the move to production, and cancelling sends nothing', async () => {
    const before = await settledAgentRequestCount(env);
    await openTab(page, 'advanced');
    await page.click('.kb-form-production button[type="submit"]');
    const question = page.locator('.kb-form-production .kb-confirm-text');
    await expect(question.textContent()).resolves.toContain('Move this site to production?');
    await page.locator('.kb-form-production .kb-confirm-no').click();
    await page.locator('.kb-form-production button[type="submit"]').waitFor();
    expect(await settledAgentRequestCount(env)).toBe(before);
    await expect(row('environment').locator('.kb-value').textContent()).resolves.toBe('development');
  });

  it('keeps a full-page screenshot of the screen', async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    // From the top, so WordPress's fixed admin bar is drawn where it belongs.
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: join(ARTIFACTS, 'settings.png'), fullPage: true });
    expect(await page.content()).not.toContain(VALUE);
  });
});
