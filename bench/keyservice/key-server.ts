import { HttpsKeyServiceClient } from '../../sidecar/src/agent/keyservice/https-client.ts';
import { createCsr, generateKeyPairAsync, type CertificateAuthority } from '../../sidecar/src/pki/index.ts';
import type { RootKey } from '../../sidecar/src/sealing/root-key.ts';
import { startServer, type KeyServer } from '../../sidecar/src/roles/server.ts';
import type { Storage } from '../../sidecar/src/storage/types.ts';
import type { Cleanup } from './cleanup.ts';
import { BenchSite } from './secrets.ts';
import { REGION, type BenchStores } from './stores.ts';

/**
 * A real key-service node (`startServer`: KeyService + SiteAuthority behind the mutual-TLS
 * app on a loopback port), a site registered on it as an agent registers (fresh key pair, CSR,
 * development certificate), and the agent's own HTTPS client presenting that certificate,
 * composed as sidecar/test-helpers/keyservice.ts does.
 */
export interface BenchNode {
  server: KeyServer;
  site: BenchSite;
  client: HttpsKeyServiceClient;
  /** The site's client certificate (what the server's `identify` checks on every request). */
  certificatePem: string;
  /** The account the site is registered under. */
  email: string;
  /** While set, receives the app's own handling time of each request (its `log` hook), in µs. */
  onServed: ((us: number) => void) | null;
}

/** `storage` defaults to `stores.storage` (the reads section passes a timed view of it). */
export async function startBenchNode(
  stores: BenchStores,
  rootKey: RootKey,
  ca: CertificateAuthority,
  cleanup: Cleanup,
  storage: Storage = stores.storage,
): Promise<BenchNode> {
  // Assigned once below; the log hook reads it when requests arrive, after the assignment.
  // eslint-disable-next-line prefer-const
  let node: BenchNode | undefined;
  const server = await startServer({
    log: (entry) => node?.onServed?.(entry.ms * 1000),
    storage,
    registry: stores.registry,
    rootKey,
    ca,
    region: REGION,
    listen: { host: '127.0.0.1', port: 0 },
    tlsHosts: { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] },
    lifetimes: { developmentDays: 30, productionDays: 30 },
    productionPolicy: 'open',
    closeStores: () => stores.close(),
  });
  cleanup.add(`key server ${server.url}`, () => server.close());
  const keyPair = await generateKeyPairAsync();
  const email = `bench-${stores.backend}@example.com`;
  const issued = await server.authority.register({
    email,
    siteName: `bench ${stores.backend}`,
    csrPem: createCsr(keyPair, { commonName: 'keybridge bench site' }),
  });
  const tls = { keyPem: keyPair.privateKeyPem, certPem: issued.certificatePem, caCertPem: issued.caCertificatePem };
  const client = new HttpsKeyServiceClient({ urls: [server.url], tls: () => tls, caCertPem: () => ca.certPem, timeoutMs: 10_000 });
  cleanup.add('HTTPS client', () => client.close());
  // The identity the certificate gives (site-authority.ts `identify`): same vault, same audit actor.
  const site = new BenchSite(issued.siteId, issued.environment, `CN=${issued.siteId},OU=${issued.environment},serial=${issued.serialHex}`);
  node = { server, site, client, certificatePem: issued.certificatePem, email, onServed: null };
  return node;
}
