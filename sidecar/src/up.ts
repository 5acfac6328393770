import { join } from 'node:path';
import { createAgent, DEFAULT_CACHE } from './agent/agent.ts';
import type { AccessLogEntry } from './agent/app.ts';
import { listen, type ListenAddress, type RunningServer } from './agent/listen.ts';
import { loadOrCreateSite } from './agent/site.ts';
import { ensureTokenFile } from './agent/token.ts';
import { ensurePrivateDir, writeFileAtomic } from './files.ts';
import { openSoftwareRootKey } from './sealing/software.ts';
import { bindInProcess } from './server/in-process-client.ts';
import { KeyService } from './server/key-service.ts';
import { openSqliteStorage } from './storage/sqlite.ts';
import { VERSION } from './version.ts';

/**
 * `keybridge up`: the key service and the agent in one process, zero configuration —
 * SQLite storage, a software root key (shown as a warning row) and one local site in the
 * development environment. This is the only module that composes `server/` and `agent/`.
 *
 * Layout of the home directory (0700):
 *   agent.url, agent.token (0600)   how the CLI and the CMS find the agent
 *   certs/site.json (0600)          site id and site secret (client certificate later)
 *   server/keybridge.db, root.key   the key service's storage and root key
 */
export const EMBEDDED_REGION = 'local';

export interface UpOptions {
  home: string;
  listen: ListenAddress;
  log?: (entry: AccessLogEntry) => void;
  cache?: Partial<typeof DEFAULT_CACHE>;
}

export interface UpInstance {
  url: string;
  tokenFile: string;
  home: string;
  /** Stops the key service only (the agent keeps serving from cache): for outage tests. */
  stopKeyService(): Promise<void>;
  close(): Promise<void>;
}

export async function up(options: UpOptions): Promise<UpInstance> {
  const { home } = options;
  ensurePrivateDir(home);
  const serverDir = join(home, 'server');
  const certDir = join(home, 'certs');
  ensurePrivateDir(serverDir);

  const storage = await openSqliteStorage(join(serverDir, 'keybridge.db'));
  const rootKey = await openSoftwareRootKey(join(serverDir, 'root.key'));
  const service = new KeyService({ storage, rootKey, region: EMBEDDED_REGION, version: VERSION });

  const site = await loadOrCreateSite(certDir);
  const tokenFile = join(home, 'agent.token');
  const token = await ensureTokenFile(tokenFile);
  const client = bindInProcess(service, {
    siteId: site.siteId,
    environment: site.environment,
    subject: `embedded:${site.siteId}`,
  });
  const agent = createAgent({
    client,
    site,
    certDir,
    token,
    region: EMBEDDED_REGION,
    cache: { ...DEFAULT_CACHE, ...options.cache },
    log: options.log,
  });

  let running: RunningServer;
  try {
    running = await listen(agent.app, options.listen);
  } catch (error) {
    await service.close();
    throw error;
  }
  writeFileAtomic(join(home, 'agent.url'), `${running.url}\n`, 0o600);

  let serviceClosed = false;
  const stopKeyService = async () => {
    if (serviceClosed) return;
    serviceClosed = true;
    await service.close();
  };
  return {
    url: running.url,
    tokenFile,
    home,
    stopKeyService,
    close: async () => {
      await running.close();
      await stopKeyService();
    },
  };
}

/** The lines a site owner pastes into wp-config.php and settings.php. */
export function cmsConfigLines(url: string, tokenFile: string): string {
  const php = (value: string) => `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  return [
    '# WordPress: add to wp-config.php, above "That\'s all, stop editing!"',
    `define( 'KEYBRIDGE_AGENT', ${php(url)} );`,
    `define( 'KEYBRIDGE_TOKEN_FILE', ${php(tokenFile)} );`,
    '',
    '# Drupal: add to settings.php',
    `$settings['keybridge']['agent'] = ${php(url)};`,
    `$settings['keybridge']['token_file'] = ${php(tokenFile)};`,
  ].join('\n');
}
