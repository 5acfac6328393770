import { performance } from 'node:perf_hooks';
import { existsSync, realpathSync } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { KeybridgeError } from '../errors.ts';
import { isOpenToOthers } from '../files.ts';
import type { KeyServiceClient, KeyServiceInfo } from '../protocol/keyservice.ts';
import type { CertificateStore, SiteCredentials } from './certs/store.ts';
import type { AgentKeys } from './keys/keys.ts';
import { environmentRow, partnerCertificateRow, partnerRenewalHelp } from './partner-status.ts';
import { row, type StatusRow } from './status-row.ts';

export type { Severity, StatusRow } from './status-row.ts';

/**
 * The status table of DESIGN.md: one list of rows, shown by the CLI, the admin pages and
 * the CMS health reports. Each row says what to do when it is not green. Row ids and
 * titles are listed in shims/spec.yaml.
 */

export interface StatusReport {
  environment: string;
  region: string;
  registered: boolean;
  rows: StatusRow[];
}

export interface StatusSources {
  version: string;
  region: string;
  client: KeyServiceClient;
  keys: AgentKeys;
  certificates: CertificateStore;
  webroots: readonly string[];
  now?: () => Date;
}

const DAY_MS = 24 * 60 * 60 * 1000;

export async function computeStatus(sources: StatusSources): Promise<StatusReport> {
  const now = sources.now?.() ?? new Date();
  const rows: StatusRow[] = [row('agent', 'Agent reachable and version', 'ok', `keybridge ${sources.version}`, '')];

  let credentials: SiteCredentials | null = null;
  let loadError: string | null = null;
  try {
    credentials = sources.certificates.current();
  } catch (error) {
    loadError = error instanceof KeybridgeError ? error.message : 'unreadable';
  }
  const path = sources.certificates.certificatePath;
  const partner = sources.certificates.partner;
  const register = partner ? 'register-partner' : 'register';
  if (partner) rows.push(partnerCertificateRow(partner, credentials, loadError));
  else if (credentials) rows.push(row('certificate-found', 'Client certificate found', 'ok', path, ''));
  else if (loadError)
    rows.push(
      row(
        'certificate-found',
        'Client certificate found',
        'error',
        loadError,
        'Fix the certificate directory, or register again into an empty one.',
      ),
    );
  else
    rows.push(
      row('certificate-found', 'Client certificate found', 'error', `none at ${path}`, 'This site is not registered yet.', register),
    );

  // The key service's verdict, asked beside `info` (one round trip's time for both).
  const verdict = credentials ? keyServiceVerdict(sources.client) : Promise.resolve(null);
  const validity = credentials
    ? validityRow(credentials, now, partner ? partnerRenewalHelp(partner) : null)
    : row('certificate-valid', 'Client certificate valid', 'error', 'no certificate', '');
  rows.push(validity);
  rows.push(directoryRow(sources.certificates.dir, sources.webroots));
  rows.push(
    credentials
      ? row('site-registered', 'Site registered', 'ok', `${credentials.accountEmail || 'registered'} (site ${credentials.siteId})`, '')
      : row('site-registered', 'Site registered', 'error', 'not registered', 'Register this site with the key service.', register),
  );
  rows.push(environmentRow(credentials, partner));

  let info: KeyServiceInfo | null = null;
  const started = performance.now();
  try {
    info = await sources.client.info();
    rows.push(row('keyservice', 'Key service reachable', 'ok', `reachable, round trip ${(performance.now() - started).toFixed(1)} ms`, ''));
  } catch (error) {
    const detail = error instanceof KeybridgeError && error.detail ? `: ${error.detail}` : '';
    rows.push(
      row(
        'keyservice',
        'Key service reachable',
        'error',
        `unreachable${detail}`,
        'Reads are served from the agent cache within its stale window; writes fail until the key service is back.',
      ),
    );
  }

  const refusal = await verdict;
  if (refusal) Object.assign(validity, refusedRow(validity, refusal, partner !== null));

  if (info && info.region !== sources.region) {
    rows.push(
      row(
        'region',
        'Region',
        'error',
        `agent ${sources.region}, key service ${info.region}`,
        'Point the agent at a key service of its own region: values never cross regions.',
      ),
    );
  } else {
    rows.push(row('region', 'Region', 'ok', sources.region, ''));
  }

  if (!info) rows.push(row('at-rest', 'At-rest protection', 'error', 'unknown: key service unreachable', ''));
  else if (info.atRest.healthy === false) {
    // The key service answers, but its root key (HSM) does not: say so rather than "unreachable".
    rows.push(
      row(
        'at-rest',
        'At-rest protection',
        'error',
        `${info.atRest.description}: ${info.atRest.detail ?? 'the root key is unusable'}`,
        'the HSM token is unreachable: the key service answers 503 until it is back',
      ),
    );
  } else if (info.atRest.kind === 'software') {
    rows.push(
      row(
        'at-rest',
        'At-rest protection',
        'warning',
        info.atRest.description,
        'A software root key protects stored keys only as well as the file system does; configure a PKCS#11 HSM for production.',
      ),
    );
  } else rows.push(row('at-rest', 'At-rest protection', 'ok', info.atRest.description, ''));

  if (!credentials) rows.push(row('keys-stored', 'Keys stored in this environment', 'warning', 'unknown until registered', ''));
  else {
    try {
      const count = await sources.keys.count();
      rows.push(row('keys-stored', 'Keys stored in this environment', 'ok', `${count} in ${credentials.environment}`, ''));
    } catch (error) {
      const why = error instanceof KeybridgeError ? error.type : 'error';
      rows.push(row('keys-stored', 'Keys stored in this environment', 'error', `unknown (${why})`, ''));
    }
  }

  const needReset = sources.keys.namesNeedingReset();
  rows.push(
    needReset.length === 0
      ? row('keys-need-reset', 'Keys needing a re-set here', 'ok', 'none', '')
      : row(
          'keys-need-reset',
          'Keys needing a re-set here',
          'warning',
          needReset.join(', '),
          'These values were set under another wrapping key (for example before a database copy): set each key again in this environment.',
          'reset-keys',
        ),
  );

  return { environment: credentials?.environment ?? 'development', region: sources.region, registered: credentials !== null, rows };
}

/** Why the key service refuses this site's certificate, or null when it accepts it (or cannot be asked now). */
async function keyServiceVerdict(client: KeyServiceClient): Promise<KeybridgeError | null> {
  try {
    await client.whoami();
    return null;
  } catch (error) {
    const refused = error instanceof KeybridgeError && (error.type === 'certificate-revoked' || error.type === 'certificate-invalid');
    return refused ? error : null;
  }
}

/** The certificate-valid row once the key service refused the certificate: red, whatever the file says. */
function refusedRow(local: StatusRow, refusal: KeybridgeError, onPartner: boolean): StatusRow {
  const why = refusal.type === 'certificate-revoked' ? 'revoked' : 'refused';
  return row(
    'certificate-valid',
    local.title,
    'error',
    `${local.value}; ${why} by the key service${refusal.detail ? ` (${refusal.detail})` : ''}`,
    onPartner
      ? 'Ask the platform for a new certificate.'
      : 'The key service no longer accepts this certificate (keybridge cert revoke, the operator, or a renewal made from a copy of this host). ' +
          'Bring the site back with the account password: keybridge cert reissue --password-file F',
  );
}

/** `platformRenews`: the help on a partner, whose platform renews the certificate (not this agent). */
function validityRow(credentials: SiteCredentials, now: Date, platformRenews: string | null): StatusRow {
  const { notAfter, notBefore, subject } = credentials.certificate;
  const daysLeft = Math.floor((notAfter.getTime() - now.getTime()) / DAY_MS);
  const value = `CN=${subject.commonName}, OU=${credentials.environment}, expires ${notAfter.toISOString().slice(0, 10)} (${daysLeft} days left)`;
  const title = 'Client certificate valid';
  if (now < notBefore)
    return row('certificate-valid', title, 'error', `${value}; not valid before ${notBefore.toISOString()}`, "Check this host's clock.");
  if (platformRenews && daysLeft < 30) return row('certificate-valid', title, daysLeft < 7 ? 'error' : 'warning', value, platformRenews);
  if (daysLeft < 7)
    return row(
      'certificate-valid',
      title,
      'error',
      value,
      'Renew now (the agent renews by itself at two thirds of the lifetime; check that it can reach the key service).',
      'renew',
    );
  if (daysLeft < 30)
    return row(
      'certificate-valid',
      title,
      'warning',
      value,
      'The agent renews certificates by itself; if this stays, check that it can reach the key service.',
    );
  return row('certificate-valid', title, 'ok', value, '');
}

/** The certificate directory must be private and outside every webroot the agent serves. */
function directoryRow(dir: string, webroots: readonly string[]): StatusRow {
  const title = 'Certificate directory outside the webroot and private';
  if (!existsSync(dir))
    return row('certificate-directory', title, 'error', `${dir} is missing`, 'Register this site, or restore the directory from backup.');
  const real = realpathSync(dir);
  for (const webroot of webroots) {
    const root = existsSync(webroot) ? realpathSync(webroot) : resolve(webroot);
    const rel = relative(root, real);
    // `..` or `../…` leaves the webroot; a name that merely starts with dots (`..keybridge`) does not.
    if (rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel))) {
      return row(
        'certificate-directory',
        title,
        'error',
        `${dir} is inside the webroot ${webroot}`,
        `Move it out of the webroot: anything under ${webroot} may be served to the world.`,
      );
    }
  }
  if (isOpenToOthers(dir)) return row('certificate-directory', title, 'error', `${dir} is readable by others`, `Run: chmod 700 ${dir}`);
  return row('certificate-directory', title, 'ok', dir, '');
}
