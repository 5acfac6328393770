import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { hashPassword } from '../crypto/index.ts';
import { DEFAULT_CACHE } from '../agent/agent.ts';
import type { AccessLogEntry } from '../agent/http/app.ts';
import type { ListenAddress } from '../agent/http/listen.ts';
import { ensureTokenFile } from '../agent/http/token.ts';
import { CertificateStore } from '../agent/certs/store.ts';
import { HttpsKeyServiceClient } from '../agent/keyservice/https-client.ts';
import { ensurePrivateDir, writeFileAtomic } from '../files.ts';
import { openSoftwareRootKey } from '../sealing/software.ts';
import { NO_PASSWORD } from '../server/accounts.ts';
import { loadOrCreateCa } from '../server/ca-store.ts';
import type { Registry } from '../storage/registry-types.ts';
import { openSqliteStores } from '../storage/sqlite/registry.ts';
import { startAgent, type RunningAgent } from './agent.ts';
import { startServer, type KeyServer } from './server.ts';

/**
 * `keybridge up`: a key service and an agent in one process, zero configuration — SQLite
 * storage, a software root key (shown as a warning row), a local CA, and one site
 * registered in the development environment: roles/server.ts's startServer and
 * roles/agent.ts's startAgent, speaking mutual TLS over loopback exactly as a remote agent
 * would.
 *
 * Layout of the home directory (0700):
 *   agent.url, agent.token (0600)      how the CLI and the CMS find the agent
 *   account.password (0600)            the embedded account's password: one machine is
 *                                      everything here, so `keybridge production` (which needs
 *                                      the password) finds it without a flag
 *   certs/                             the site's certificate directory (certs/store.ts)
 *   server/keybridge.db, root.key, ca/ the key service's storage, root key and CA (its key sealed by root.key)
 */
export const EMBEDDED_REGION = 'local';
export const EMBEDDED_EMAIL = 'owner@keybridge.localhost';
export const EMBEDDED_PASSWORD_FILE = 'account.password';

export interface UpOptions {
  home: string;
  listen: ListenAddress;
  log?: (entry: AccessLogEntry) => void;
  cache?: Partial<typeof DEFAULT_CACHE>;
  /** The account the embedded site registers under on first start. */
  email?: string;
  /** Register the embedded site on first start (default true; tests turn it off). */
  register?: boolean;
  /** Webroots of the sites this agent serves (the certificate directory must be outside them). */
  webroots?: string[];
}

export interface UpInstance {
  url: string;
  tokenFile: string;
  home: string;
  keyServiceUrl: string;
  /** The agent's node:http server: it emits 'request' only for what the socket fast path handed it (tests count them). */
  agentServer: Server;
  /** Stops the key service only (the agent keeps serving from cache): for outage tests. */
  stopKeyService(): Promise<void>;
  close(): Promise<void>;
}

export async function up(options: UpOptions): Promise<UpInstance> {
  const { home } = options;
  ensurePrivateDir(home);
  const serverDir = join(home, 'server');
  ensurePrivateDir(serverDir);

  const stores = await openSqliteStores(join(serverDir, 'keybridge.db'));
  const email = options.email ?? EMBEDDED_EMAIL;
  let server: KeyServer;
  let password: string;
  try {
    password = await embeddedPassword(home, stores.registry, email);
    const rootKey = await openSoftwareRootKey(join(serverDir, 'root.key'));
    server = await startServer({
      storage: stores.storage,
      registry: stores.registry,
      rootKey,
      ca: await loadOrCreateCa(serverDir, rootKey),
      region: EMBEDDED_REGION,
      listen: { host: '127.0.0.1', port: 0 },
      tlsHosts: { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] },
      lifetimes: { developmentDays: 90, productionDays: 365 },
      productionPolicy: 'open',
      closeStores: stores.close,
    });
  } catch (error) {
    await stores.close();
    throw error;
  }

  const certificates = new CertificateStore(join(home, 'certs'));
  const client = new HttpsKeyServiceClient({
    urls: [server.url],
    tls: () => certificates.current()?.tls ?? null,
    caCertPem: () => server.caCertPem,
  });
  const tokenFile = join(home, 'agent.token');
  let running: RunningAgent;
  try {
    running = await startAgent({
      client,
      certificates,
      token: await ensureTokenFile(tokenFile),
      region: EMBEDDED_REGION,
      webroots: options.webroots ?? [],
      cache: { ...DEFAULT_CACHE, ...options.cache },
      log: options.log,
      listen: options.listen,
      beforeListen: async (agent) => {
        if (options.register !== false && !certificates.isRegistered()) {
          await agent.registrar.register({ email, password, siteName: 'embedded site' });
        }
      },
    });
  } catch (error) {
    client.close();
    await server.close();
    throw error;
  }
  writeFileAtomic(join(home, 'agent.url'), `${running.url}\n`, 0o600);

  return {
    url: running.url,
    tokenFile,
    home,
    keyServiceUrl: server.url,
    agentServer: running.server,
    stopKeyService: () => server.close(),
    close: async () => {
      await running.close();
      await server.close();
    },
  };
}

/**
 * The embedded account's password, made on first start and kept in the home (0600). An
 * account that an earlier `keybridge up` made without a password gets this one, so homes
 * from before the move to production needed a password keep working.
 */
async function embeddedPassword(home: string, registry: Registry, email: string): Promise<string> {
  const file = join(home, EMBEDDED_PASSWORD_FILE);
  const made = !existsSync(file);
  if (made) writeFileAtomic(file, `${randomBytes(32).toString('base64url')}\n`, 0o600);
  const password = readFileSync(file, 'utf8').trim();
  const account = await registry.findAccountByEmail(email);
  // A new file for an existing account: its previous file is gone, and this home owns the account.
  if (account && (account.passwordHash === NO_PASSWORD || made)) {
    await registry.setAccountPassword(account.accountId, await hashPassword(password));
  }
  return password;
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
