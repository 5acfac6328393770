/**
 * Issue 13 in a real WordPress (fixtures/wordpress, KEYBRIDGE_WP_ENV) with Debian's Chromium:
 * the admin screen lists keys a page at a time (100, then "Show more keys"), the REST route
 * forwards limit and cursor, and the key form refuses invisible and look-alike names with
 * the agent's problem, storing nothing and keeping no KEK. Not under admin-ui/: the browser
 * files there run first, on a site not yet registered, in an order vitest picks.
 */
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
} from '../admin-ui/wp-browser.ts';

const env = wordPressEnv();
let browser: Browser;
let page: Page;

const PAGED = 105;

function keyNamesOnScreen(): Promise<string[]> {
  return page.locator('#keybridge-admin .kb-keys-table tbody code').allTextContents();
}

async function saveKey(name: string): Promise<{ kind: string; text: string }> {
  await page.fill('#kb-key-name', name);
  await page.fill('#kb-key-value', 'value');
  await page.click('.kb-form-key button[type="submit"]');
  const notice = page.locator('#keybridge-admin .kb-notice').first();
  await notice.waitFor();
  const kind = (await notice.evaluate((box) => (box.classList.contains('kb-notice-error') ? 'error' : 'success'))) as string;
  return { kind, text: (await notice.textContent()) ?? '' };
}

function keptKek(name: string): boolean {
  return runWordPressPhp(env, `echo array_key_exists( ${JSON.stringify(name)}, Keybridge_Keks::all() ) ? 'yes' : 'no';`) === 'yes';
}

beforeAll(async () => {
  browser = await openAdminBrowser(env, 20_000);
  page = browser.page;
  await openSettings(page, env);
  await ensureRegistered(page);
  runWordPressPhp(
    env,
    `for ( $i = 0; $i < ${PAGED}; $i++ ) { if ( ! keybridge_set_key( sprintf( 'paged/%03d', $i ), 'v' ) ) { echo 'failed'; exit( 1 ); } } echo 'ok';`,
    120_000,
  );
  await openSettings(page, env);
}, 180_000);

afterAll(async () => {
  runWordPressPhp(env, `for ( $i = 0; $i < ${PAGED}; $i++ ) { keybridge_delete_key( sprintf( 'paged/%03d', $i ) ); } echo 'ok';`, 120_000);
  await browser?.close();
}, 180_000);

describe('the admin screen with more keys than one page', () => {
  it('shows 100 keys, then the rest on "Show more keys", each once', async () => {
    await openTab(page, 'keys');
    await page.locator('#keybridge-admin .kb-keys-table tbody tr').first().waitFor();
    expect(await keyNamesOnScreen()).toHaveLength(100);
    const more = page.locator('#keybridge-admin .kb-more-keys');
    expect(await more.isVisible()).toBe(true);
    while (await more.isVisible()) {
      const before = (await keyNamesOnScreen()).length;
      await more.click();
      await expect
        .poll(async () => (await page.locator('#keybridge-admin .kb-notice-error').count()) + (await keyNamesOnScreen()).length, {
          timeout: 20_000,
        })
        .toBeGreaterThan(before);
      expect(await page.locator('#keybridge-admin .kb-notice-error').count(), await page.locator('#keybridge-admin').innerText()).toBe(0);
    }
    const names = await keyNamesOnScreen();
    expect(new Set(names).size).toBe(names.length);
    for (let i = 0; i < PAGED; i++) expect(names).toContain(`paged/${String(i).padStart(3, '0')}`);
    expect([...names].sort()).toEqual(names);
  });

  it('forwards limit and cursor through the REST route, and refuses a limit of the wrong type', async () => {
    type Page = { keys: { name: string }[]; next_cursor?: string };
    const first = await callRoute(page, 'keys.list', { limit: 1 });
    expect(first.status).toBe(200);
    const firstPage = first.body as Page;
    expect(firstPage.keys).toHaveLength(1);
    expect(typeof firstPage.next_cursor).toBe('string');
    const second = (await callRoute(page, 'keys.list', { limit: 1, cursor: firstPage.next_cursor })).body as Page;
    expect(second.keys[0].name > firstPage.keys[0].name).toBe(true);
    const wrong = await callRoute(page, 'keys.list', { limit: 'ten' });
    expect(wrong.status).toBe(400);
    expect(wrong.body).toMatchObject({ type: 'invalid-field', field: 'limit' });
    const tooMany = await callRoute(page, 'keys.list', { limit: 5000 });
    expect(tooMany.body).toMatchObject({ type: 'invalid-field', field: 'limit' });
  });
});

describe('the key form and names that look like others', () => {
  it('refuses invisible characters and mixed scripts with invalid-name, keeping no KEK', async () => {
    await openTab(page, 'keys');
    for (const name of ['names/a\u3164b', 'names/\u0440\u0430ssword', 'names/a\ufe0fb']) {
      const answer = await saveKey(name);
      expect(answer.kind).toBe('error');
      expect(answer.text).toContain('The key name is invalid');
      expect(keptKek(name)).toBe(false);
    }
  });

  it('refuses a look-alike of a stored key with the agent’s name-confusable, naming that key', async () => {
    expect((await saveKey('names/cope')).kind).toBe('success');
    const answer = await saveKey('names/\u0441\u043e\u0440\u0435');
    expect(answer.kind).toBe('error');
    expect(answer.text).toContain('looks the same as the key "names/cope"');
    expect(keptKek('names/\u0441\u043e\u0440\u0435')).toBe(false);
    runWordPressPhp(env, `keybridge_delete_key( 'names/cope' ); echo 'ok';`);
  });
});
