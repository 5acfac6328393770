import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAgent, DEFAULT_CACHE, type Agent } from '../src/agent/agent.ts';
import { CertificateStore } from '../src/agent/certs/store.ts';
import { HttpsKeyServiceClient } from '../src/agent/keyservice/https-client.ts';
import { listen, type RunningServer } from '../src/agent/listen.ts';
import { openSoftwareRootKey } from '../src/sealing/software.ts';
import { loadOrCreateCa } from '../src/server/ca-store.ts';
import type { CertificateLifetimes, ProductionPolicy } from '../src/server/site-authority.ts';
import { startKeyServer, type KeyServer } from '../src/server/start.ts';
import { openSqliteStores } from '../src/storage/registry-sqlite.ts';
import type { ApiResponse } from './embedded.ts';

/**
 * A real key-service node (SQLite, software root key, its own CA) on a loopback TLS port,
 * and real agents that reach it over mutual TLS — the parts of `keybridge server` and
 * `keybridge agent`, composed in-process for tests.
 */
export interface TestKeyServer extends KeyServer {
  home: string;
  stop(): Promise<void>;
}

export async function startTestKeyServer(
  options: { region?: string; lifetimes?: Partial<CertificateLifetimes>; productionPolicy?: ProductionPolicy; home?: string; now?: () => Date } = {},
): Promise<TestKeyServer> {
  const home = options.home ?? mkdtempSync(join(tmpdir(), 'kb-server-'));
  const stores = await openSqliteStores(join(home, 'keybridge.db'));
  const server = await startKeyServer({
    storage: stores.storage,
    registry: stores.registry,
    rootKey: await openSoftwareRootKey(join(home, 'root.key')),
    ca: await loadOrCreateCa(home),
    region: options.region ?? 'eu',
    listen: { host: '127.0.0.1', port: 0 },
    tlsHosts: { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] },
    lifetimes: { developmentDays: 90, productionDays: 365, ...options.lifetimes },
    productionPolicy: options.productionPolicy ?? 'open',
    closeStores: stores.close,
    now: options.now,
  });
  return {
    ...server,
    home,
    stop: async () => {
      await server.close();
      if (!options.home) rmSync(home, { recursive: true, force: true });
    },
  };
}

export interface TestAgent extends Agent {
  url: string;
  token: string;
  certDir: string;
  client: HttpsKeyServiceClient;
  call(method: string, path: string, body?: unknown): Promise<ApiResponse>;
  stop(): Promise<void>;
}

export async function startTestAgent(
  server: { url: string; caCertPem: string },
  options: { certDir?: string; region?: string; webroots?: string[]; cache?: Partial<typeof DEFAULT_CACHE>; urls?: string[] } = {},
): Promise<TestAgent> {
  const certDir = options.certDir ?? join(mkdtempSync(join(tmpdir(), 'kb-agent-')), 'certs');
  const certificates = new CertificateStore(certDir);
  const client = new HttpsKeyServiceClient({
    urls: options.urls ?? [server.url],
    tls: () => certificates.current()?.tls ?? null,
    caCertPem: () => server.caCertPem,
  });
  const token = 'T'.repeat(43);
  const agent = createAgent({
    client,
    certificates,
    token,
    region: options.region ?? 'eu',
    webroots: options.webroots ?? [],
    cache: { ...DEFAULT_CACHE, ...options.cache },
  });
  const running: RunningServer = await listen(agent.app, { kind: 'tcp', host: '127.0.0.1', port: 0 });
  const call = async (method: string, path: string, body?: unknown): Promise<ApiResponse> => {
    const response = await fetch(`${running.url}${path}`, {
      method,
      headers: { Authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    let json: any;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: response.status, headers: response.headers, json, text };
  };
  return {
    ...agent,
    url: running.url,
    token,
    certDir,
    client,
    call,
    stop: async () => {
      await running.close();
      client.close();
    },
  };
}
