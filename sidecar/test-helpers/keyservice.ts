import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_CACHE, type Agent } from '../src/agent/agent.ts';
import { CertificateStore } from '../src/agent/certs/store.ts';
import { HttpsKeyServiceClient, type HttpsKeyServiceOptions } from '../src/agent/keyservice/https-client.ts';
import type { CertificateAuthority } from '../src/pki/index.ts';
import type { RootKey } from '../src/sealing/root-key.ts';
import { openSoftwareRootKey } from '../src/sealing/software.ts';
import { loadOrCreateCa } from '../src/server/ca-store.ts';
import type { CertificateLifetimes, ProductionPolicy } from '../src/server/site-authority.ts';
import { startAgent } from '../src/roles/agent.ts';
import { startServer, type KeyServer, type KeyServerOptions } from '../src/roles/server.ts';
import { openSqliteStores } from '../src/storage/sqlite/registry.ts';
import type { Registry } from '../src/storage/registry-types.ts';
import type { Storage } from '../src/storage/types.ts';
import { createTestDatabase, TEST_BACKEND, workerBackend, type TestBackend } from './backend.ts';
import { agentCaller, type ApiResponse } from './agent-caller.ts';

export { MULTI_NODE_BACKEND, TEST_BACKEND, workerBackend, type TestBackend } from './backend.ts';

/**
 * Real key-service nodes on loopback TLS ports, and real agents that reach them over mutual
 * TLS — the parts of `keybridge server` and `keybridge agent`, composed in-process for tests.
 *
 * The backend follows KEYBRIDGE_TEST_BACKEND (backend.ts):
 * - `sqlite-software` (default): one node, SQLite file and software root key in its home.
 *   `nodes: 2` adds a second listener and KeyService on the same SQLite handle and root key
 *   (SQLite is the single-node store: this is two front ends over one store, in one process).
 * - `postgres-softhsm`: TWO nodes (unless `nodes: 1`), each with its own pool on one fresh
 *   PostgreSQL database and its own PKCS#11 root key on the worker's SoftHSM token (same key
 *   label), like two `keybridge server` processes. Both use the one CA of `home`.
 * `url` is node 1; `urls` all nodes, which `startTestAgent` hands to the agent; `nodes[i]`
 * can be closed on its own (listener and connections dropped at once) to fail a node.
 */
export interface TestKeyServer extends KeyServer {
  home: string;
  /** The one CA every node issues from (loaded once from `home`). */
  ca: CertificateAuthority;
  backend: TestBackend;
  urls: string[];
  nodes: KeyServer[];
  /** Requests answered so far, per node (the app's log hook). */
  served: number[];
  /** A separate handle on the stores the nodes use (close it after use). */
  openStores(): Promise<{ storage: Storage; registry: Registry; close(): Promise<void> }>;
  /** Closes every node still open; keeps `home`. */
  close(): Promise<void>;
  /** Closes every node and removes `home` unless the caller gave it. */
  stop(): Promise<void>;
}

export interface TestKeyServerOptions {
  region?: string;
  lifetimes?: Partial<CertificateLifetimes>;
  productionPolicy?: ProductionPolicy;
  home?: string;
  now?: () => Date;
  /** Key-service nodes (default 1 on sqlite-software, 2 on postgres-softhsm). */
  nodes?: 1 | 2;
}

type NodeParts = Pick<KeyServerOptions, 'storage' | 'registry' | 'rootKey' | 'closeStores'>;

export async function startTestKeyServer(options: TestKeyServerOptions = {}): Promise<TestKeyServer> {
  const home = options.home ?? mkdtempSync(join(tmpdir(), 'kb-server-'));
  const count = options.nodes ?? (TEST_BACKEND === 'postgres-softhsm' ? 2 : 1);
  const backend = TEST_BACKEND === 'postgres-softhsm' ? await postgresSoftHsm(home) : sqliteSoftware(home);
  const ca = await loadOrCreateCa(home, await openSoftwareRootKey(join(home, 'root.key')));
  const served: number[] = [];
  const nodes: KeyServer[] = [];
  try {
    for (let index = 0; index < count; index++) {
      served.push(0);
      // One node after the other: the first creates the PKCS#11 key, the second finds it.
      const parts = await backend.node(count);
      try {
        nodes.push(
          await startServer({
            ...parts,
            ca,
            region: options.region ?? 'eu',
            listen: { host: '127.0.0.1', port: 0 },
            tlsHosts: { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] },
            lifetimes: { developmentDays: 90, productionDays: 365, ...options.lifetimes },
            productionPolicy: options.productionPolicy ?? 'open',
            now: options.now,
            log: () => void served[index]++,
          }),
        );
      } catch (error) {
        await parts.closeStores();
        throw error;
      }
    }
  } catch (error) {
    for (const node of nodes) await node.close().catch(() => undefined);
    if (!options.home) rmSync(home, { recursive: true, force: true });
    throw error;
  }
  const close = async () => {
    for (const node of nodes) await node.close();
  };
  return {
    ...nodes[0],
    ca,
    home,
    backend: TEST_BACKEND,
    urls: nodes.map((node) => node.url),
    nodes,
    served,
    openStores: backend.openStores,
    close,
    stop: async () => {
      await close();
      if (!options.home) rmSync(home, { recursive: true, force: true });
    },
  };
}

interface Backend {
  /** The parts of one node of `count`. */
  node(count: number): Promise<NodeParts>;
  openStores: TestKeyServer['openStores'];
}

/** SQLite and a software root key in `home`; extra nodes share the first node's handle and key. */
function sqliteSoftware(home: string): Backend {
  const file = join(home, 'keybridge.db');
  let shared: Promise<{ parts: NodeParts; users: number }> | undefined;
  return {
    openStores: () => openSqliteStores(file),
    node: async (count) => {
      shared ??= (async () => {
        const stores = await openSqliteStores(file);
        const rootKey = await openSoftwareRootKey(join(home, 'root.key'));
        const closeAll = async () => {
          await rootKey.close();
          await stores.close();
        };
        return { parts: { storage: stores.storage, registry: stores.registry, rootKey, closeStores: closeAll }, users: 0 };
      })();
      const entry = await shared;
      entry.users++;
      if (count === 1) return entry.parts;
      // KeyService.close() closes its storage and root key: with two nodes each gets views
      // whose close does nothing, and the last node to close closes the real ones.
      return {
        ...entry.parts,
        storage: keepOpen(entry.parts.storage),
        rootKey: keepOpen(entry.parts.rootKey),
        closeStores: () => release(entry),
      };
    },
  };
}

async function release(entry: { parts: NodeParts; users: number }): Promise<void> {
  if (--entry.users === 0) await entry.parts.closeStores();
}

function keepOpen<T extends { close(): Promise<void> }>(target: T): T {
  return new Proxy(target, {
    get(object, property) {
      if (property === 'close') return async () => undefined;
      const value = Reflect.get(object, property, object);
      return typeof value === 'function' ? value.bind(object) : value;
    },
  });
}

/** A fresh PostgreSQL database and a fresh root key label on the worker's token (kept in `home` for a restart on it). */
async function postgresSoftHsm(home: string): Promise<Backend> {
  const { hsm } = await workerBackend();
  const file = join(home, 'backend.json');
  let saved: { url: string; keyLabel: string };
  if (existsSync(file)) saved = JSON.parse(readFileSync(file, 'utf8'));
  else {
    saved = { url: await createTestDatabase(), keyLabel: `root-${Math.random().toString(36).slice(2, 10)}` };
    writeFileSync(file, JSON.stringify(saved), { mode: 0o600 });
  }
  const { openPostgresStores } = await import('../src/storage/postgres/registry.ts');
  const { openPkcs11RootKey } = await import('../src/sealing/pkcs11/pkcs11.ts');
  return {
    openStores: () => openPostgresStores(saved.url),
    node: async () => {
      const stores = await openPostgresStores(saved.url);
      let rootKey: RootKey;
      try {
        rootKey = await openPkcs11RootKey({
          module: hsm.module,
          tokenLabel: hsm.token,
          pinFile: hsm.pinFile,
          keyLabel: saved.keyLabel,
          createIfMissing: true,
        });
      } catch (error) {
        await stores.close();
        throw error;
      }
      return { storage: stores.storage, registry: stores.registry, rootKey, closeStores: stores.close };
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
  server: { url: string; caCertPem: string; urls?: readonly string[] },
  options: {
    certDir?: string;
    region?: string;
    webroots?: string[];
    cache?: Partial<typeof DEFAULT_CACHE>;
    urls?: string[];
    client?: Partial<Pick<HttpsKeyServiceOptions, 'timeoutMs' | 'backoff' | 'now'>>;
  } = {},
): Promise<TestAgent> {
  const certDir = options.certDir ?? join(mkdtempSync(join(tmpdir(), 'kb-agent-')), 'certs');
  const certificates = new CertificateStore(certDir);
  const client = new HttpsKeyServiceClient({
    urls: options.urls ?? server.urls ?? [server.url],
    tls: () => certificates.current()?.tls ?? null,
    caCertPem: () => server.caCertPem,
    ...options.client,
  });
  const token = 'T'.repeat(43);
  const running = await startAgent({
    client,
    certificates,
    token,
    region: options.region ?? 'eu',
    webroots: options.webroots ?? [],
    cache: { ...DEFAULT_CACHE, ...options.cache },
    listen: { kind: 'tcp', host: '127.0.0.1', port: 0 },
    // Tests renew on purpose (registrar.renewIfDue), never behind their back.
    renewal: false,
  });
  const { agent } = running;
  const caller = agentCaller(running.url, { token });

  return {
    ...agent,
    url: running.url,
    token,
    certDir,
    client,
    call: caller.call,
    stop: async () => {
      caller.close();
      await running.close();
    },
  };
}
