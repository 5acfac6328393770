import { performance } from 'node:perf_hooks';
import { existsSync } from 'node:fs';
import { isOpenToOthers } from '../files.ts';
import type { KeyServiceClient, KeyServiceInfo } from '../protocol/keyservice.ts';
import type { AgentKeys } from './keys.ts';

/**
 * The status table of DESIGN.md: one list of rows, shown by the CLI, the admin pages and
 * the CMS health reports. Each row says what to do when it is not green.
 */
export type Severity = 'ok' | 'warning' | 'error';

export interface StatusRow {
  id: string;
  title: string;
  severity: Severity;
  value: string;
  help: string;
}

export interface StatusReport {
  environment: string;
  region: string;
  registered: boolean;
  rows: StatusRow[];
}

export interface StatusSources {
  version: string;
  region: string;
  certDir: string;
  client: KeyServiceClient;
  keys: AgentKeys;
}

export async function computeStatus(sources: StatusSources): Promise<StatusReport> {
  const { keys } = sources;
  const rows: StatusRow[] = [
    row('agent', 'Agent reachable and version', 'ok', `keybridge ${sources.version}`, ''),
    row(
      'certificate-found',
      'Client certificate',
      'warning',
      'embedded default: the key service runs in this process and needs no client certificate',
      'For a key service on another host, the agent authenticates with an x509 client certificate.',
    ),
    certDirRow(sources.certDir),
    row('site-registered', 'Site registered', 'ok', `local site ${keys.siteId} (embedded default)`, ''),
    row('environment', 'Environment', 'ok', keys.environment, ''),
  ];

  let info: KeyServiceInfo | null = null;
  const started = performance.now();
  try {
    info = await sources.client.info();
    const ms = performance.now() - started;
    rows.push(row('keyservice', 'Key service reachable', 'ok', `reachable, round trip ${ms.toFixed(1)} ms`, ''));
  } catch {
    rows.push(
      row(
        'keyservice',
        'Key service reachable',
        'error',
        'unreachable',
        'Reads are served from the agent cache within its stale window; writes fail until the key service is back.',
      ),
    );
  }

  if (info && info.region !== sources.region) {
    rows.push(
      row('region', 'Region', 'error', `agent ${sources.region}, key service ${info.region}`, 'Point the agent at a key service of its own region: values never cross regions.'),
    );
  } else {
    rows.push(row('region', 'Region', 'ok', sources.region, ''));
  }

  if (!info) {
    rows.push(row('at-rest', 'At-rest protection', 'error', 'unknown: key service unreachable', ''));
  } else if (info.atRest.kind === 'software') {
    rows.push(
      row('at-rest', 'At-rest protection', 'warning', info.atRest.description, 'A software root key protects stored keys only as well as the file system does; configure a PKCS#11 HSM for production.'),
    );
  } else {
    rows.push(row('at-rest', 'At-rest protection', 'ok', info.atRest.description, ''));
  }

  try {
    const count = (await keys.list()).length;
    rows.push(row('keys-stored', 'Keys stored in this environment', 'ok', `${count} in ${keys.environment}`, ''));
  } catch {
    rows.push(row('keys-stored', 'Keys stored in this environment', 'error', 'unknown: key service unreachable', ''));
  }

  const needReset = keys.namesNeedingReset();
  rows.push(
    needReset.length === 0
      ? row('keys-need-reset', 'Keys needing a re-set here', 'ok', 'none', '')
      : row(
          'keys-need-reset',
          'Keys needing a re-set here',
          'warning',
          needReset.join(', '),
          'These values were set under another wrapping key (for example before a database copy): set each key again in this environment.',
        ),
  );

  return { environment: keys.environment, region: sources.region, registered: true, rows };
}

function certDirRow(dir: string): StatusRow {
  const title = 'Certificate directory private';
  if (!existsSync(dir)) return row('certificate-directory', title, 'error', `${dir} is missing`, 'Restart the agent to recreate it.');
  if (isOpenToOthers(dir)) {
    return row('certificate-directory', title, 'error', `${dir} is readable by others`, `Run: chmod 700 ${dir}`);
  }
  return row('certificate-directory', title, 'ok', dir, '');
}

function row(id: string, title: string, severity: Severity, value: string, help: string): StatusRow {
  return { id, title, severity, value, help };
}
