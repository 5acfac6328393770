import { generateKeyPairAsync, type CertificateAuthority } from '../pki/index.ts';
import type { RootKey } from '../sealing/root-key.ts';
import type { RootKeyRing } from '../sealing/root-key-ring.ts';
import type { Registry } from '../storage/registry-types.ts';
import type { Storage } from '../storage/types.ts';
import { VERSION } from '../version.ts';
import { createKeyServiceApp, type KeyServiceAppOptions } from './http/app.ts';
import { listenTls } from './http/listen.ts';
import { KeyService } from './key-service.ts';
import { SiteAuthority, type CertificateLifetimes, type ProductionPolicy } from './site-authority.ts';

/**
 * One key-service node: the KeyService and the SiteAuthority behind the mutual-TLS app.
 * `keybridge server` and `keybridge up` both start it through here. The node's own TLS
 * certificate is made fresh at every start by its CA, for the hosts agents dial.
 */
export interface KeyServerOptions {
  storage: Storage;
  registry: Registry;
  /** One root key, or a ring (`keybridge server`: the keys storage records, see roles/server.ts). */
  rootKey: RootKey | RootKeyRing;
  ca: CertificateAuthority;
  region: string;
  listen: { host: string; port: number };
  tlsHosts: { dnsNames: string[]; ipAddresses: string[] };
  lifetimes: CertificateLifetimes;
  productionPolicy: ProductionPolicy;
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

export async function startKeyServer(options: KeyServerOptions): Promise<KeyServer> {
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
    now: options.now,
  });
  const serverKey = await generateKeyPairAsync();
  const serverCert = authority.issueServerCertificate(serverKey.publicKeyPem, options.tlsHosts, SERVER_CERT_DAYS);
  const app = createKeyServiceApp({ service, authority, log: options.log });
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
      await service.close();
      await options.closeStores();
    },
  };
}
