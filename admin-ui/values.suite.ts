/**
 * What an administrator types into the key form, in a real WordPress: the largest value,
 * names and labels that WordPress's slashing or sanitising would mangle, and markup that
 * must stay text (no XSS through a label, a name or an error message).
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  callRoute,
  ensureRegistered,
  openAdminBrowser,
  openSettings,
  openTab,
  runWordPressPhp,
  wordPressEnv,
  type Browser,
} from './wp-browser.ts';

const env = wordPressEnv();
let browser: Browser;
let page: Page;

/** Set by any markup that manages to run in the page. */
const XSS = '<img src=x onerror="window.__kbXss=(window.__kbXss||0)+1"><script>window.__kbXss=1</script>';

function keyRow(name: string) {
  return page.locator('#keybridge-admin .kb-keys-table tr').filter({ has: page.locator('code', { hasText: name }) });
}

async function saveKey(name: string, value: string, label: string): Promise<void> {
  await page.fill('#kb-key-name', name);
  await page.fill('#kb-key-value', value);
  await page.fill('#kb-key-label', label);
  await page.click('.kb-form-key button[type="submit"]');
}

async function outcome(): Promise<{ kind: string; text: string }> {
  const notice = page.locator('#keybridge-admin .kb-notice').first();
  await notice.waitFor();
  const kind = (await notice.evaluate((box) => (box.classList.contains('kb-notice-error') ? 'error' : 'success'))) as string;
  return { kind, text: (await notice.textContent()) ?? '' };
}

function storedValueHash(name: string): string {
  return runWordPressPhp(env, `$v = keybridge_get_key( ${JSON.stringify(name)} ); echo null === $v ? 'null' : hash( 'sha256', $v );`);
}

describe('the key form', () => {
  beforeAll(async () => {
    browser = await openAdminBrowser(env, 20_000);
    page = browser.page;
    await openSettings(page, env);
    await ensureRegistered(page);
    await openSettings(page, env);
    await openTab(page, 'keys');
  });

  afterAll(async () => {
    await browser?.close();
  });

  it('stores a 64 KiB value typed into the form, and the page never shows it', async () => {
    const value = randomBytes(48 * 1024).toString('base64'); // 65536 characters
    expect(value.length).toBe(65536);
    await saveKey('values/large', value, 'largest value');
    expect(await outcome()).toMatchObject({ kind: 'success' });
    expect(await page.inputValue('#kb-key-value')).toBe('');
    expect(storedValueHash('values/large')).toBe(createHash('sha256').update(value).digest('hex'));
    expect(await page.content()).not.toContain(value.slice(0, 64));
  });

  it('refuses one byte more through the route, with the field named', async () => {
    const answer = await callRoute(page, 'keys.set', { name: 'values/too-large', value: 'x'.repeat(65537) });
    expect(answer.status).toBeGreaterThanOrEqual(400);
    expect(answer.body).toMatchObject({ field: 'value' });
  });

  it('round-trips a Unicode name and a label full of quotes, backslashes and markup, shown as text', async () => {
    const name = 'clé-api/ünïcødé:naïve@x/ключ/日本'; // one script per segment (issue 13)
    const label = `O'Reilly "quoted" \\back\\slash\\\\ ${XSS} ✓`;
    const value = `va'l"ue\\with\\slashes ${XSS}`;
    await saveKey(name, value, label);
    expect(await outcome()).toMatchObject({ kind: 'success' });
    const row = keyRow(name);
    await row.waitFor();
    await expect(row.locator('code').textContent()).resolves.toBe(name);
    await expect(row.locator('.kb-key-label').textContent()).resolves.toBe(label);
    expect(await page.locator('#keybridge-admin img, #keybridge-admin script').count()).toBe(0);
    expect(await page.evaluate(() => (window as unknown as { __kbXss?: number }).__kbXss)).toBeUndefined();
    // WordPress added no slashes and stripped nothing on the way in.
    expect(storedValueHash(name)).toBe(createHash('sha256').update(value).digest('hex'));
    // And a reload renders the list from the agent's answer as text as well.
    await openSettings(page, env);
    await openTab(page, 'keys');
    await keyRow(name).waitFor();
    expect(await page.locator('#keybridge-admin img, #keybridge-admin script').count()).toBe(0);
    expect(await page.evaluate(() => (window as unknown as { __kbXss?: number }).__kbXss)).toBeUndefined();
  });

  it('shows the agent’s refusal of a bad name next to the name field, as text, keeping what was typed', async () => {
    const name = `bad "name" \\ ${XSS}`;
    await saveKey(name, 'kept value', 'kept label');
    expect(await outcome()).toMatchObject({ kind: 'error' });
    const error = page.locator('#kb-key-name-error');
    await expect(error.textContent()).resolves.toMatch(/\S/);
    expect(await page.getAttribute('#kb-key-name', 'aria-invalid')).toBe('true');
    expect(await page.inputValue('#kb-key-name')).toBe(name);
    expect(await page.inputValue('#kb-key-label')).toBe('kept label');
    expect(await page.locator('#keybridge-admin img, #keybridge-admin script').count()).toBe(0);
    expect(await page.evaluate(() => (window as unknown as { __kbXss?: number }).__kbXss)).toBeUndefined();
  });

  it('checks the certificate form in the browser before anything is sent', async () => {
    await openTab(page, 'certificate');
    await page.fill('#kb-certificate-country', 'nl');
    await page.fill('#kb-certificate-state', 'Noord-Holland');
    await page.fill('#kb-certificate-locality', 'Amsterdam');
    await page.fill('#kb-certificate-organization', 'Example BV');
    const valid = await page.locator('#kb-certificate-country').evaluate((input) => (input as HTMLInputElement).validity.valid);
    expect(valid).toBe(false);
    expect(await page.getAttribute('#kb-certificate-country', 'maxlength')).toBe('2');
  });
});
