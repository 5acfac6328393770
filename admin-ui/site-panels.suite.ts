/**
 * The settings page as a site owner uses it, in a real WordPress with a real agent: tabs (one
 * panel at a time, arrow keys, a link to a tab), a secret typed masked with a show toggle,
 * protecting and unprotecting an option from the page, defining a constant from a key (and
 * installing the loader from the page), and who read each key. Leaves a screenshot of each
 * tab in .test-artifacts/admin-ui/.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ARTIFACTS,
  SETTINGS_PATH,
  ensureRegistered,
  openAdminBrowser,
  openSettings,
  openTab,
  runWordPressPhp,
  success,
  wordPressEnv,
  type Browser,
} from './wp-browser.ts';

const env = wordPressEnv();
let browser: Browser;
let page: Page;

const OPTION = `kb_panel_smtp_${randomBytes(4).toString('hex')}`;
const OPTION_VALUE = `panel-secret-${randomBytes(8).toString('hex')}`;
const KEY = `panels/smtp-${randomBytes(4).toString('hex')}`;
const KEY_VALUE = `constant-secret-${randomBytes(8).toString('hex')}`;
const PERIOD_PLUGIN = join(env.WP_PATH, 'wp-content', 'mu-plugins', 'keybridge-test-panels-period.php');

function php(code: string): string {
  return runWordPressPhp(env, code);
}

async function mailer(query: string): Promise<Record<string, unknown>> {
  return (await (await fetch(`${env.WP_URL}/?kb-fixture-mailer=1${query}`)).json()) as Record<string, unknown>;
}

describe('the settings page’s tabs and the site’s own panels', () => {
  beforeAll(async () => {
    browser = await openAdminBrowser(env, 20_000);
    page = browser.page;
    await openSettings(page, env);
    await ensureRegistered(page);
    php(
      `add_option( ${JSON.stringify(OPTION)}, ${JSON.stringify(OPTION_VALUE)} ); keybridge_set_key( ${JSON.stringify(KEY)}, ${JSON.stringify(KEY_VALUE)} );`,
    );
    await openSettings(page, env);
  });

  afterAll(async () => {
    rmSync(PERIOD_PLUGIN, { force: true });
    php(
      `if ( Keybridge_Protected_Options::is_protected( ${JSON.stringify(OPTION)} ) ) { keybridge_unprotect_option( ${JSON.stringify(OPTION)} ); }
       delete_option( ${JSON.stringify(OPTION)} ); keybridge_delete_key( ${JSON.stringify(KEY)} );
       $map = Keybridge_Constants::map(); unset( $map['KB_FIXTURE_SMTP_PASS'] ); update_option( Keybridge_Constants::OPTION, $map, true );`,
    );
    await browser?.close();
  });

  it('shows one tab’s panel at a time; arrow keys move between tabs; a link can open one', async () => {
    const tabs = await page.locator('#keybridge-admin [role="tab"]').evaluateAll((nodes) => nodes.map((node) => node.id));
    expect(tabs).toEqual(['kb-tab-status', 'kb-tab-keys', 'kb-tab-options', 'kb-tab-certificate', 'kb-tab-advanced']);
    expect(await page.locator('#kb-panel-status').isVisible()).toBe(true);
    expect(await page.locator('#kb-panel-keys').isVisible()).toBe(false);
    await openTab(page, 'keys');
    expect(await page.locator('#kb-panel-status').isVisible()).toBe(false);
    expect(await page.getAttribute('#kb-tab-keys', 'aria-selected')).toBe('true');
    await page.focus('#kb-tab-keys');
    await page.keyboard.press('ArrowRight');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('kb-tab-options');
    expect(await page.locator('#kb-panel-options').isVisible()).toBe(true);
    await page.goto(`${env.WP_URL}${SETTINGS_PATH}#kb-tab-advanced`);
    await page.waitForSelector('#kb-panel-advanced:not([hidden])');
    // The configuration lines PHP printed are on the advanced tab.
    expect(await page.locator('#kb-panel-advanced #kb-configuration').isVisible()).toBe(true);
  });

  it('masks a value as it is typed, shows it on request, and masks it again when it is sent', async () => {
    await openSettings(page, env);
    await openTab(page, 'keys');
    const value = `typed-${randomBytes(6).toString('hex')}`;
    await page.fill('#kb-key-name', `${KEY}-typed`);
    await page.fill('#kb-key-value', value);
    expect(await page.getAttribute('#kb-key-value', 'type')).toBe('password');
    const toggle = page.locator('#kb-form-key .kb-reveal');
    expect(await toggle.getAttribute('aria-pressed')).toBe('false');
    await toggle.click();
    expect(await page.getAttribute('#kb-key-value', 'type')).toBe('text');
    expect(await toggle.getAttribute('aria-pressed')).toBe('true');
    await toggle.click();
    expect(await page.getAttribute('#kb-key-value', 'type')).toBe('password');
    await toggle.click();
    await page.click('#kb-form-key button[type="submit"]');
    await success(page);
    expect(await page.getAttribute('#kb-key-value', 'type')).toBe('password');
    expect(await page.inputValue('#kb-key-value')).toBe('');
    expect(php(`echo keybridge_get_key( ${JSON.stringify(`${KEY}-typed`)} );`)).toBe(value);
    php(`keybridge_delete_key( ${JSON.stringify(`${KEY}-typed`)} );`);
  });

  it('protects an option from the page and puts it back, the value never in the page', async () => {
    await openSettings(page, env);
    await openTab(page, 'options');
    await page.fill('#kb-protect-option', OPTION);
    await page.click('#kb-form-protect button[type="submit"]');
    expect(await success(page)).toContain(OPTION);
    const row = page.locator(`.kb-options-table tr[data-option="${OPTION}"]`);
    await row.waitFor();
    const raw = `global $wpdb; echo $wpdb->get_var( $wpdb->prepare( "SELECT option_value FROM {$wpdb->options} WHERE option_name = %s", ${JSON.stringify(OPTION)} ) );`;
    expect(php(raw)).toMatch(/^keybridge:ref:v1:\d+$/);
    expect(php(`echo get_option( ${JSON.stringify(OPTION)} );`)).toBe(OPTION_VALUE);
    expect(await page.content()).not.toContain(OPTION_VALUE);

    await row.getByRole('button', { name: 'Unprotect' }).click();
    await row.locator('.kb-confirm-yes').click();
    expect(await success(page)).toContain(OPTION);
    await row.waitFor({ state: 'detached' });
    expect(php(raw)).toBe(OPTION_VALUE);
  });

  it('refuses to protect what WordPress needs before keybridge, next to the field', async () => {
    await page.fill('#kb-protect-option', 'active_plugins');
    await page.click('#kb-form-protect button[type="submit"]');
    await expect.poll(() => page.locator('#kb-protect-option-error').textContent()).toMatch(/cannot be protected/);
    expect(await page.getAttribute('#kb-protect-option', 'aria-invalid')).toBe('true');
  });

  it('defines a constant from a key from the page; the unmodified plugin uses it; the loader installs from the page', async () => {
    php('Keybridge_Constants::uninstall_loader();');
    await openSettings(page, env);
    await openTab(page, 'options');
    await page.fill('#kb-constant-constant', 'KB_FIXTURE_SMTP_PASS');
    await page.fill('#kb-constant-key', KEY);
    await page.click('#kb-form-constant button[type="submit"]');
    expect(await success(page)).toContain('KB_FIXTURE_SMTP_PASS');
    // Mapping installed the loader; the next page defines the constant.
    expect(await mailer('')).toMatchObject({ source: 'constant' });
    await openSettings(page, env);
    await openTab(page, 'options');
    const row = page.locator('.kb-constants-table tr[data-constant="KB_FIXTURE_SMTP_PASS"]');
    await row.waitFor();
    expect(await row.getAttribute('data-state')).toBe('defined');
    expect(await page.content()).not.toContain(KEY_VALUE);

    // Without the loader the page says so and offers to install it.
    php('Keybridge_Constants::uninstall_loader();');
    await openSettings(page, env);
    await openTab(page, 'options');
    const notice = page.locator('.kb-loader');
    await notice.waitFor();
    expect(await row.getAttribute('data-state')).toBe('not-loaded');
    await notice.locator('.kb-install-loader').click();
    expect(await success(page)).toContain('loader');
    expect(php('echo Keybridge_Constants::loader_installed() ? "yes" : "no";')).toBe('yes');
  });

  it('shows who read each key: the plugin that asked, how often, when last', async () => {
    writeFileSync(PERIOD_PLUGIN, "<?php\nadd_filter( 'keybridge_usage_flush_seconds', static function () { return 1; } );\n");
    await mailer(`&reads=4&key=${encodeURIComponent(KEY)}`);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await mailer(`&reads=1&key=${encodeURIComponent(KEY)}`);
    await openSettings(page, env);
    await openTab(page, 'keys');
    const row = page.locator(`.kb-usage-table tr[data-key="${KEY}"][data-caller="plugin:kb-fixture-mailer"]`);
    await row.waitFor();
    const reads = Number(await row.locator('td').nth(2).textContent());
    expect(reads).toBeGreaterThanOrEqual(4);
  });

  it('keeps a screenshot of each tab', async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    await openSettings(page, env);
    for (const tab of ['status', 'keys', 'options', 'certificate', 'advanced']) {
      await openTab(page, tab);
      await page.evaluate(() => window.scrollTo(0, 0));
      await page.screenshot({ path: join(ARTIFACTS, `settings-${tab}.png`), fullPage: true });
    }
    expect(await page.content()).not.toContain(KEY_VALUE);
  });
});
