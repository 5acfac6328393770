import { readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { DEFAULT_LIMITS, type ServerConfig } from '../config/server.ts';
import { KeybridgeError } from '../errors.ts';
import { ensurePrivateDir, isOpenToOthers, writeFileAtomic } from '../files.ts';
import type { RootKeyRing } from '../sealing/root-key-ring.ts';
import { generateKeyPairAsync, type CertificateAuthority } from '../pki/index.ts';
import type { RootKey } from '../sealing/root-key.ts';
import { createKeyServiceApp } from '../server/http/app.ts';
import { listenTls } from '../server/http/listen.ts';
import { KeyService } from '../server/key-service.ts';
import type { CertificateLifetimes, ProductionPolicy } from '../server/site-authority.ts';
import { VERSION } from '../version.ts';
import { pkcs11RootKeySource, softwareRootKeySource, type RootKeySource } from '../sealing/root-key-source.ts';
import { loadOrCreateCa } from '../server/ca-store.ts';
import type { PartnerCertificate } from '../server/partner-authority.ts';
import type { KeyServiceAppOptions } from '../server/http/app.ts';
import { openStoredRootKeyRing } from '../server/root-key-ring-store.ts';
import { finishRootKeyRotation, rotateRootKey, type RotationResult, type RotationStep } from '../server/root-rotation.ts';
import { PasswordGuard } from '../server/password-guard.ts';
import type { RateLimit } from '../server/rate-limit.ts';
import { SiteAuthority } from '../server/site-authority.ts';

export type { SiteDetails } from '../server/site-authority.ts';
import { openSqliteStores } from '../storage/sqlite/registry.ts';
import type { Registry } from '../storage/registry-types.ts';
import type { Storage } from '../storage/types.ts';

export type { RotationStep };

/**
 * `keybridge server --config FILE`: one key-service node from its validated config, and
 * the stores the operator commands (`keybridge server sites approve`, `… cert revoke`,
 * `… rotate-root`) open directly. Composition only: the parts live in server/, storage/
 * and sealing/.
 *
 * Root keys: the configuration names the first root key; which key is active after a
 * rotation is recorded in storage (`root_keys`), relative to that configuration (a file
 * beside `rootKey.file`, or a label in the same token), so the YAML never changes.
 */
export interface Stores {
  storage: Storage;
  registry: Registry;
  close(): Promise<void>;
}

/**
 * One key-service node: the KeyService and the SiteAuthority behind the mutual-TLS app.
 * `keybridge server` (runServer), `keybridge up` (roles/up.ts) and the test helpers all start
 * it through here. The node's own TLS
 * certificate is made fresh at every start by its CA, for the hosts agents dial.
 */
export interface KeyServerOptions {
  storage: Storage;
  registry: Registry;
  /** One root key, or a ring (`keybridge server`: the keys storage records, runServer below). */
  rootKey: RootKey | RootKeyRing;
  ca: CertificateAuthority;
  region: string;
  listen: { host: string; port: number };
  tlsHosts: { dnsNames: string[]; ipAddresses: string[] };
  lifetimes: CertificateLifetimes;
  productionPolicy: ProductionPolicy;
  /** Registrations per client address, password guesses per account (default: config/server.ts DEFAULT_LIMITS). */
  limits?: { perAddress?: RateLimit; perAccount?: RateLimit };
  /** How long a renewed certificate's predecessor keeps working (default 5 minutes). */
  renewalOverlapMs?: number;
  log?: KeyServiceAppOptions['log'];
  /** The clock certificates are checked and issued against (tests skew it). */
  now?: () => Date;
  /** Closes storage and registry (they may share one database handle). */
  closeStores: () => Promise<void>;
}

export interface KeyServer {
  url: string;
  caCertPem: string;
  service: KeyService;
  authority: SiteAuthority;
  close(): Promise<void>;
}

export const SERVER_CERT_DAYS = 30;

export async function startServer(options: KeyServerOptions): Promise<KeyServer> {
  const service = new KeyService({
    storage: options.storage,
    rootKey: options.rootKey,
    region: options.region,
    version: VERSION,
    now: options.now,
  });
  const authority = new SiteAuthority({
    registry: options.registry,
    ca: options.ca,
    region: options.region,
    lifetimes: options.lifetimes,
    productionPolicy: options.productionPolicy,
    renewalOverlapMs: options.renewalOverlapMs,
    passwords: new PasswordGuard({ perAccount: options.limits?.perAccount ?? DEFAULT_LIMITS.perAccount }),
    now: options.now,
  });
  const serverKey = await generateKeyPairAsync();
  const serverCert = authority.issueServerCertificate(serverKey.publicKeyPem, options.tlsHosts, SERVER_CERT_DAYS);
  const app = createKeyServiceApp({
    service,
    authority,
    perAddress: options.limits?.perAddress ?? DEFAULT_LIMITS.perAddress,
    log: options.log,
  });
  const running = await listenTls(
    app,
    { keyPem: serverKey.privateKeyPem, certPem: serverCert, caCertPem: options.ca.certPem },
    options.listen.host,
    options.listen.port,
  );
  let closed = false;
  return {
    url: running.url,
    caCertPem: options.ca.certPem,
    service,
    authority,
    close: async () => {
      if (closed) return;
      closed = true;
      await running.close();
      await authority.close();
      await service.close();
      await options.closeStores();
    },
  };
}

export async function openStores(config: ServerConfig): Promise<Stores> {
  ensurePrivateDir(config.home);
  if (config.storage.kind === 'sqlite') return openSqliteStores(config.storage.path);
  const { openPostgresStores } = await import('../storage/postgres/registry.ts');
  return openPostgresStores(readSecretFile(config.storage.urlFile, 'storage.urlFile'));
}

export function rootKeySource(config: ServerConfig): RootKeySource {
  const rootKey = config.rootKey;
  if (rootKey.kind === 'software') return softwareRootKeySource(rootKey.file);
  return pkcs11RootKeySource({
    module: rootKey.module,
    tokenLabel: rootKey.tokenLabel,
    pinFile: rootKey.pinFile,
    keyLabel: rootKey.keyLabel,
  });
}

/** The node's root keys: an interrupted rotation is finished first, so a start always completes one. */
export async function openRootKeys(config: ServerConfig, storage: Storage): Promise<RootKeyRing> {
  const source = rootKeySource(config);
  const ring = await openStoredRootKeyRing(storage, source);
  try {
    if (await finishRootKeyRotation({ storage, source, home: config.home })) await ring.refresh();
    return ring;
  } catch (error) {
    await ring.close();
    throw error;
  }
}

export async function runServer(config: ServerConfig, log?: KeyServiceAppOptions['log']): Promise<KeyServer & { caFile: string }> {
  const stores = await openStores(config);
  let rootKeys: RootKeyRing | undefined;
  try {
    rootKeys = await openRootKeys(config, stores.storage);
    const server = await startServer({
      storage: stores.storage,
      registry: stores.registry,
      rootKey: rootKeys,
      ca: await loadOrCreateCa(config.home, rootKeys),
      region: config.region,
      listen: config.listen,
      tlsHosts: config.tls,
      lifetimes: config.certificates,
      productionPolicy: config.production.policy,
      limits: config.limits,
      closeStores: stores.close,
      log,
    });
    return { ...server, caFile: join(config.home, 'ca', 'ca.pem') };
  } catch (error) {
    await rootKeys?.close();
    await stores.close();
    throw error;
  }
}

/** `keybridge server rotate-root`: finishes an interrupted rotation, or rotates to a new root key. */
export async function rotateRoot(config: ServerConfig, onStep?: (step: RotationStep) => void): Promise<RotationResult> {
  const stores = await openStores(config);
  try {
    return await rotateRootKey({ storage: stores.storage, source: rootKeySource(config), home: config.home, onStep });
  } finally {
    await stores.close();
  }
}

/** The operator's view: approve production, revoke certificates, list sites. No listener. */
export async function withAuthority<T>(
  config: ServerConfig,
  run: (authority: SiteAuthority, registry: Registry) => Promise<T>,
): Promise<T> {
  const stores = await openStores(config);
  let rootKeys: RootKeyRing | undefined;
  try {
    // The CA key is sealed by the root key: operator commands need it too.
    rootKeys = await openStoredRootKeyRing(stores.storage, rootKeySource(config));
    const authority = new SiteAuthority({
      registry: stores.registry,
      ca: await loadOrCreateCa(config.home, rootKeys),
      region: config.region,
      lifetimes: config.certificates,
      productionPolicy: config.production.policy,
    });
    try {
      return await run(authority, stores.registry);
    } finally {
      await authority.close();
    }
  } finally {
    await rootKeys?.close();
    await stores.close();
  }
}

/**
 * `keybridge server partner issue`: a partner site's private key and certificate in ONE file
 * (0600), as Pantheon's binding.pem holds them, for the platform to install. The key is
 * made in this process and written only there; the key service keeps the certificate's
 * record, not the key.
 */
export async function issuePartnerBinding(
  config: ServerConfig,
  input: { partner: string; platformEnvironment: string; siteName?: string; siteId?: string },
  outFile: string,
): Promise<PartnerCertificate> {
  // Checked first: a certificate issued into a directory that is not there would be recorded for nothing.
  let isDirectory = false;
  try {
    isDirectory = statSync(dirname(outFile)).isDirectory();
  } catch {
    // reported below
  }
  if (!isDirectory) throw new KeybridgeError('invalid-field', `${dirname(outFile)} is not a directory`, { field: 'out' });
  return withAuthority(config, async (authority) => {
    const issued = await authority.issuePartnerCertificate(input);
    writeFileAtomic(outFile, `${issued.privateKeyPem.trim()}\n${issued.certificatePem.trim()}\n`, 0o600);
    return issued;
  });
}

function readSecretFile(file: string, field: string): string {
  let text: string;
  try {
    if (isOpenToOthers(file))
      throw new KeybridgeError('config-invalid', `${field}: ${file} must not be readable by others (chmod 600)`, { field });
    text = readFileSync(file, 'utf8').trim();
  } catch (error) {
    if (error instanceof KeybridgeError) throw error;
    throw new KeybridgeError('config-invalid', `${field}: cannot read ${file}`, { field });
  }
  if (!text) throw new KeybridgeError('config-invalid', `${field}: ${file} is empty`, { field });
  return text;
}
