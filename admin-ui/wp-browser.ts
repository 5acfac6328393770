/**
 * What the admin-ui browser tests share: the WordPress fixture's env file
 * (KEYBRIDGE_WP_ENV, written by fixtures/wordpress/up.sh), a fresh Chromium profile,
 * logging in through wp-login.php, calling the plugin's REST route from the page (with the
 * page's own cookies and nonce) and running PHP inside the fixture's WordPress.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { readWordPressEnv, type WordPressEnv } from '../fixtures/wordpress/wordpress.ts';

export { runWordPressPhp } from '../fixtures/wordpress/wordpress.ts';

export const REPO = new URL('..', import.meta.url).pathname;
export const ARTIFACTS = join(REPO, '.test-artifacts', 'admin-ui');
export const SETTINGS_PATH = '/wp-admin/options-general.php?page=keybridge';

export type { WordPressEnv };

/** The fixture named by KEYBRIDGE_WP_ENV (fixtures/wordpress/up.sh writes DIR/env). */
export function wordPressEnv(): WordPressEnv {
  const file = process.env.KEYBRIDGE_WP_ENV;
  if (!file) throw new Error('KEYBRIDGE_WP_ENV is not set: start fixtures/wordpress/up.sh DIR and point it at DIR/env');
  return readWordPressEnv(file);
}

export interface Browser {
  context: BrowserContext;
  page: Page;
  close(): Promise<void>;
}

/** Debian's Chromium with a profile (and TMPDIR) of its own, removed again by close(). */
export async function openBrowser(options: { javaScript?: boolean } = {}): Promise<Browser> {
  mkdirSync(join(tmpdir(), 'keybridge-admin-ui'), { recursive: true });
  const scratch = mkdtempSync(join(tmpdir(), 'keybridge-admin-ui', 'chromium-'));
  const profile = join(scratch, 'profile');
  const temp = join(scratch, 'tmp');
  mkdirSync(temp);
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
    env: { ...process.env, TMPDIR: temp },
    viewport: { width: 1280, height: 900 },
    javaScriptEnabled: options.javaScript ?? true,
  });
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    context,
    page,
    async close() {
      await context.close().catch(() => undefined);
      rmSync(scratch, { recursive: true, force: true });
    },
  };
}

/** Logs in through the real form (WordPress sets its test cookie on the GET first). */
export async function logIn(page: Page, env: WordPressEnv, user = env.WP_ADMIN_USER, password = env.WP_ADMIN_PASSWORD): Promise<void> {
  await page.goto(`${env.WP_URL}/wp-login.php`);
  await page.fill('#user_login', user);
  await page.fill('#user_pass', password);
  await Promise.all([page.waitForURL(/wp-admin/), page.click('#wp-submit')]);
}

/** A fresh browser with the admin logged in: what each suite opens in its beforeAll. */
export async function openAdminBrowser(env: WordPressEnv, timeoutMs: number): Promise<Browser> {
  const browser = await openBrowser();
  browser.page.setDefaultTimeout(timeoutMs);
  await logIn(browser.page, env);
  return browser;
}

/** Opens Settings → Keybridge and waits until the bundle has drawn the status rows. */
export async function openSettings(page: Page, env: WordPressEnv): Promise<void> {
  await page.goto(`${env.WP_URL}${SETTINGS_PATH}`);
  await page.waitForSelector('#keybridge-admin tr[data-row="agent"]');
}

/** The success notice of the screen's last operation; an error notice instead fails with its text. */
export async function success(page: Page): Promise<string> {
  const notice = page.locator('#keybridge-admin .kb-notice-success, #keybridge-admin .kb-notice-error');
  await notice.first().waitFor();
  const text = (await notice.first().textContent()) ?? '';
  if (await notice.first().evaluate((box) => box.classList.contains('kb-notice-error'))) throw new Error(`the screen says: ${text}`);
  return text;
}

/** Opens one tab of the settings page (status, keys, options, certificate, advanced) as a person would: by clicking it. */
export async function openTab(page: Page, id: string): Promise<void> {
  await page.click(`#kb-tab-${id}`);
  await page.waitForSelector(`#kb-panel-${id}:not([hidden])`);
}

/** Whether a form is on the page for the site's state (its tab may be another than the one shown). */
export async function formShown(page: Page, id: string): Promise<boolean> {
  return (await page.locator(`#kb-form-${id}`).getAttribute('hidden')) === null;
}

export interface RouteAnswer {
  status: number;
  headers: Record<string, string>;
  body: Record<string, unknown> | null;
}

/**
 * Calls the REST route from inside the page: same cookies as the admin screen, and the
 * screen's nonce unless `nonce` is false (or a given string).
 */
export async function callRoute(
  page: Page,
  operation: string,
  body: unknown = {},
  nonce: boolean | string = true,
  endpoint?: string,
): Promise<RouteAnswer> {
  return page.evaluate(
    async ({ operation, body, nonce, endpoint }) => {
      const config = (window as unknown as { keybridgeAdmin?: { endpoint: string; headers: Record<string, string> } }).keybridgeAdmin;
      if (!config && (nonce === true || !endpoint)) throw new Error('window.keybridgeAdmin is missing: open the settings page first');
      const headers: Record<string, string> = { 'Content-Type': 'application/json' };
      if (nonce === true && config) Object.assign(headers, config.headers);
      else if (typeof nonce === 'string') headers['X-WP-Nonce'] = nonce;
      const response = await fetch((endpoint ?? config?.endpoint) + operation, {
        method: 'POST',
        headers,
        credentials: 'same-origin',
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });
      const text = await response.text();
      let parsed;
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = null;
      }
      const answerHeaders: Record<string, string> = {};
      response.headers.forEach((value, key) => {
        answerHeaders[key] = value;
      });
      return { status: response.status, headers: answerHeaders, body: parsed };
    },
    { operation, body, nonce, endpoint },
  );
}

/** The route's address as the settings page gives it, for pages without the screen's config. */
export function routeEndpoint(env: WordPressEnv): string {
  return `${env.WP_URL}/index.php?rest_route=/keybridge/v1/op/`;
}

/** Requests the keybridge agent has logged so far (one JSON line each, no bodies). */
export function agentRequestCount(env: WordPressEnv): number {
  const log = join(env.WP_LOG_DIR, 'agent.log');
  return readFileSync(log, 'utf8')
    .split('\n')
    .filter((line) => line.startsWith('{')).length;
}

/** The agent's request count once its access log has stopped growing (it writes in batches). */
export async function settledAgentRequestCount(env: WordPressEnv): Promise<number> {
  let count = agentRequestCount(env);
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 600));
    const now = agentRequestCount(env);
    if (now === count) return now;
    count = now;
  }
}

/** Registers the site through the route if it is not yet (for a test file run on its own). */
export async function ensureRegistered(page: Page): Promise<void> {
  const status = await callRoute(page, 'status');
  if (status.body?.registered === true) return;
  const answer = await callRoute(page, 'register', { email: `admin-ui-${Date.now()}@example.com`, site_name: 'admin-ui tests' });
  if (answer.status !== 200) throw new Error(`registering failed: ${JSON.stringify(answer.body)}`);
}
