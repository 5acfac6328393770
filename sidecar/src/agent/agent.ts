import { KeybridgeError } from '../errors.ts';
import type { StoredSecret } from '../protocol/keyservice.ts';
import { VERSION } from '../version.ts';
import { createAgentApp } from './http/app.ts';
import { CiphertextCache } from './keys/cache.ts';
import { Registrar } from './certs/registrar.ts';
import type { CertificateStore } from './certs/store.ts';
import { fastReadSockets } from './http/fast-read-sockets.ts';
import { nodeFrontEnd } from './http/front-node.ts';
import { AgentKeys, type SiteIdentity } from './keys/keys.ts';
import type { FrontEnds } from './http/listen.ts';
import { type AccessLogEntry, RequestPipeline } from './http/pipeline.ts';
import { readOperations } from './http/routes/keys.ts';
import type { HttpsKeyServiceClient } from './keyservice/https-client.ts';
import { UsageReporter } from './usage.ts';

/** Everything the agent needs; the key service is reached over mutual TLS. */
export interface AgentOptions {
  client: HttpsKeyServiceClient;
  certificates: CertificateStore;
  token: string;
  region: string;
  /** The webroots of the sites this agent serves: the certificate directory must be outside them. */
  webroots: readonly string[];
  cache: { ttlMs: number; staleMs: number; maxEntries: number };
  log?: (entry: AccessLogEntry) => void;
}

export interface Agent {
  /** The request pipeline's two front ends (http/pipeline.ts): pass them to listen(). */
  frontEnds: FrontEnds;
  /** Every `METHOD /path` the agent serves (the contract test holds them against the spec). */
  routes: string[];
  keys: AgentKeys;
  certificates: CertificateStore;
  registrar: Registrar;
}

export function createAgent(options: AgentOptions): Agent {
  const { certificates } = options;
  const registrar = new Registrar(certificates, options.client);
  const cache = new CiphertextCache<StoredSecret>(options.cache);
  // One SiteIdentity per loaded credentials, not one per call: reads ask several times each.
  let identity: { from: object; site: SiteIdentity } | null = null;
  const site = (): SiteIdentity => {
    const credentials = certificates.recent();
    if (!credentials) throw new KeybridgeError('not-registered');
    if (identity?.from !== credentials) {
      identity = {
        from: credentials,
        site: { siteId: credentials.siteId, siteSecret: credentials.siteSecret, environment: credentials.environment },
      };
    }
    return identity.site;
  };
  const keys = new AgentKeys({ client: options.client, site, cache });
  const pipeline = new RequestPipeline({ token: options.token, reads: readOperations(keys), log: options.log });
  const app = createAgentApp({
    keys,
    registrar,
    usage: new UsageReporter(keys, options.client),
    version: VERSION,
    problem: (error) => pipeline.problem(error),
    status: {
      version: VERSION,
      region: options.region,
      client: options.client,
      keys,
      certificates,
      webroots: options.webroots,
    },
  });
  const frontEnds: FrontEnds = {
    request: nodeFrontEnd(pipeline, app),
    sockets: (listening) => fastReadSockets({ pipeline, ...listening }),
    listening: (transport) => pipeline.listening(transport),
  };
  const routes = [
    ...app.routes.filter((route) => route.method !== 'ALL').map((route) => `${route.method} ${route.path}`),
    ...pipeline.routes(),
  ];
  return { frontEnds, routes, keys, certificates, registrar };
}

/** Defaults chosen for a page-request workload: a short TTL keeps revocation prompt. */
export const DEFAULT_CACHE = { ttlMs: 30_000, staleMs: 15 * 60_000, maxEntries: 10_000 };
