import type { Hono } from 'hono';
import type { KeyServiceClient, StoredSecret } from '../protocol/keyservice.ts';
import { VERSION } from '../version.ts';
import { type AccessLogEntry, createAgentApp } from './app.ts';
import { CiphertextCache } from './cache.ts';
import { AgentKeys } from './keys.ts';
import { type SiteIdentity } from './site.ts';

/** Everything the agent needs, whichever way it reaches its key service. */
export interface AgentOptions {
  client: KeyServiceClient;
  site: SiteIdentity;
  certDir: string;
  token: string;
  region: string;
  cache: { ttlMs: number; staleMs: number; maxEntries: number };
  log?: (entry: AccessLogEntry) => void;
}

export interface Agent {
  app: Hono;
  keys: AgentKeys;
}

export function createAgent(options: AgentOptions): Agent {
  const cache = new CiphertextCache<StoredSecret>(options.cache);
  const keys = new AgentKeys({ client: options.client, site: options.site, cache });
  const app = createAgentApp({
    token: options.token,
    keys,
    version: VERSION,
    log: options.log,
    status: { version: VERSION, region: options.region, certDir: options.certDir, client: options.client, keys },
  });
  return { app, keys };
}

/** Defaults chosen for a page-request workload: a short TTL keeps revocation prompt. */
export const DEFAULT_CACHE = { ttlMs: 30_000, staleMs: 15 * 60_000, maxEntries: 10_000 };
