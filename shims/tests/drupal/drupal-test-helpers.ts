/**
 * What the *.drupal.test.ts files share: the fixture the runner started, a registered site,
 * and requests to the settings page's operation route as a logged-in user.
 */
import { attachDrupal, drushOk, logInToDrupal, type DrupalEnv, type DrupalFixture } from '../../../fixtures/drupal/drupal.ts';

export { drush, drushOk, drupalPhp, logInToDrupal } from '../../../fixtures/drupal/drupal.ts';
export type { DrupalEnv, DrupalFixture };

export const SETTINGS_PATH = '/admin/config/system/keybridge';

/** The fixture of KEYBRIDGE_DRUPAL_ENV, with its default site registered (once). */
export function registeredDrupal(): DrupalFixture {
  const fixture = attachDrupal();
  ensureRegistered(fixture.env);
  return fixture;
}

/** Registers a site with its agent unless it is registered already. */
export function ensureRegistered(env: DrupalEnv, uri = env.DRUPAL_URL): void {
  const status = JSON.parse(drushOk(env, ['keybridge:status', '--format=json'], { uri })) as Record<string, { severity: string }>;
  if (status['site-registered']?.severity === 'ok') return;
  drushOk(env, ['keybridge:register', '--email=admin@example.com', '--site-name=drupal-fixture', '--format=json'], { uri });
}

/** The settings page's CSRF token for a session (as drupalSettings hands it to the bundle). */
export async function csrfToken(env: DrupalEnv, cookie: string): Promise<string> {
  const page = await fetch(`${env.DRUPAL_URL}${SETTINGS_PATH}`, { headers: { cookie } });
  const html = await page.text();
  const settings = /<script type="application\/json" data-drupal-selector="drupal-settings-json">([^<]*)<\/script>/.exec(html);
  if (!settings) throw new Error(`the settings page (HTTP ${page.status}) has no drupalSettings`);
  const token = JSON.parse(settings[1]).keybridgeAdmin?.headers?.['X-CSRF-Token'];
  if (typeof token !== 'string' || token === '') throw new Error('drupalSettings.keybridgeAdmin has no X-CSRF-Token');
  return token;
}

/** What the operation route answered. */
export interface OperationAnswer {
  status: number;
  contentType: string;
  cacheControl: string;
  body: Record<string, unknown> | null;
}

/** POSTs one admin operation as the bundle does (cookie + X-CSRF-Token unless token is null). */
export async function callOperation(
  env: DrupalEnv,
  cookie: string,
  token: string | null,
  operation: string,
  body: unknown = {},
): Promise<OperationAnswer> {
  const headers: Record<string, string> = { cookie, 'content-type': 'application/json', accept: 'application/json' };
  if (token !== null) headers['x-csrf-token'] = token;
  const response = await fetch(`${env.DRUPAL_URL}${SETTINGS_PATH}/op/${operation}`, {
    method: 'POST',
    headers,
    body: typeof body === 'string' ? body : JSON.stringify(body),
    redirect: 'manual',
  });
  const text = await response.text();
  let parsed: Record<string, unknown> | null;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = null;
  }
  return {
    status: response.status,
    contentType: response.headers.get('content-type') ?? '',
    cacheControl: response.headers.get('cache-control') ?? '',
    body: parsed,
  };
}

/** A key's value as Drupal's Key module reads it (key.repository), through drush; null for none. */
export function keyValueThroughKey(env: DrupalEnv, id: string, uri?: string): string | null {
  const out = drushOk(
    env,
    [
      'php:eval',
      `$k = \\Drupal::service('key.repository')->getKey(${JSON.stringify(id)}); $v = $k ? $k->getKeyValue(TRUE) : NULL; echo json_encode($v === NULL ? NULL : base64_encode($v));`,
    ],
    { uri },
  );
  const encoded = JSON.parse(out.trim()) as string | null;
  return encoded === null ? null : Buffer.from(encoded, 'base64').toString('utf8');
}

/** Logs in (default: the admin) and returns the session cookie. */
export async function adminSession(env: DrupalEnv): Promise<string> {
  return logInToDrupal(env);
}
