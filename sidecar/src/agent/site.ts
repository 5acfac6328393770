import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createPrivateFileExclusive, ensurePrivateDir, isOpenToOthers } from '../files.ts';
import { KeybridgeError } from '../errors.ts';
import type { Environment } from '../protocol/keyservice.ts';
import { ENVIRONMENTS } from '../protocol/keyservice.ts';

/**
 * What the agent knows about the site it serves: the site id the key service knows it
 * by, and the site secret (32 random bytes) from which opaque key ids and the name key
 * are derived. Both live in the certificate directory (0700, files 0600), outside the
 * webroot, never in the CMS database: the database holds only KEKs.
 *
 * In the embedded default there is no client certificate yet, so the environment is
 * recorded here; once certificates exist it is read from the certificate's subject OU.
 */
export interface SiteIdentity {
  siteId: string;
  siteSecret: Uint8Array;
  environment: Environment;
}

const SITE_FILE = 'site.json';

export function siteFilePath(certDir: string): string {
  return join(certDir, SITE_FILE);
}

export function loadSite(certDir: string): SiteIdentity {
  const file = siteFilePath(certDir);
  if (isOpenToOthers(file) || isOpenToOthers(certDir)) {
    throw new KeybridgeError('config-invalid', `${file} and its directory must be private (0600 / 0700)`, {
      field: 'cert_dir',
    });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    throw new KeybridgeError('config-invalid', `${file} is not valid JSON`, { field: 'cert_dir' });
  }
  const record = parsed as Record<string, unknown>;
  const siteId = record.site_id;
  const secret = record.site_secret;
  const environment = record.environment;
  if (typeof siteId !== 'string' || !/^[A-Za-z0-9_-]{8,64}$/.test(siteId)) {
    throw new KeybridgeError('config-invalid', `${file}: site_id is missing or malformed`, { field: 'site_id' });
  }
  if (typeof secret !== 'string' || !/^[A-Za-z0-9_-]{43}$/.test(secret)) {
    throw new KeybridgeError('config-invalid', `${file}: site_secret is missing or malformed`, {
      field: 'site_secret',
    });
  }
  if (!ENVIRONMENTS.includes(environment as Environment)) {
    throw new KeybridgeError('config-invalid', `${file}: environment must be development or production`, {
      field: 'environment',
    });
  }
  return { siteId, siteSecret: new Uint8Array(Buffer.from(secret, 'base64url')), environment: environment as Environment };
}

/**
 * Creates the site on first start. Never replaces an existing site file: a second agent
 * starting at the same moment loses the race and loads the winner's, because a replaced
 * site secret would orphan every key already stored under the old one.
 */
export async function loadOrCreateSite(certDir: string, environment: Environment = 'development'): Promise<SiteIdentity> {
  ensurePrivateDir(certDir);
  const file = siteFilePath(certDir);
  if (!existsSync(file)) {
    const site = {
      site_id: `site_${randomBytes(12).toString('base64url')}`,
      site_secret: randomBytes(32).toString('base64url'),
      environment,
    };
    await createPrivateFileExclusive(file, Buffer.from(`${JSON.stringify(site, null, 2)}\n`));
  }
  return loadSite(certDir);
}
