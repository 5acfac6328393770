import type { NewCertificate, Registry, SiteRecord } from '../../src/storage/registry-types.ts';

/** Fixtures and the harness type shared by the parts of the registry conformance suite. */
export interface RegistryHarness {
  registry: Registry;
  cleanup: () => Promise<void>;
  /** A second Registry on the same database, as a second server node would open it. */
  openPeer?: () => Promise<Registry>;
}

export type MakeRegistry = () => Promise<RegistryHarness>;

export const AT = '2025-01-01T00:00:00.000Z';
export const HASH = '$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA';

export function at(day: number, hour = 0): string {
  return `2025-01-${String(day).padStart(2, '0')}T${String(hour).padStart(2, '0')}:00:00.000Z`;
}

let counter = 0;
/** A fresh account and one site of it. */
export async function newSite(registry: Registry, over: Partial<{ name: string; region: string; at: string }> = {}): Promise<SiteRecord> {
  counter += 1;
  const account = await registry.createAccount({ email: `owner-${counter}-${Date.now()}@example.org`, passwordHash: HASH, at: AT });
  return registry.createSite({ accountId: account.accountId, name: over.name ?? 'Site', region: over.region ?? 'eu', at: over.at ?? AT });
}

export function certificate(siteId: string, serialHex: string, over: Partial<NewCertificate> = {}): NewCertificate {
  return {
    serialHex,
    siteId,
    environment: 'development',
    fingerprintSha256: `${serialHex}`.padEnd(64, 'f').slice(0, 64),
    notBefore: at(1),
    notAfter: '2026-01-01T00:00:00.000Z',
    issuedAt: at(1),
    origin: 'registration',
    parentSerial: null,
    ...over,
  };
}

/** Exactly one fulfilled; every other rejected with `type`. Returns the fulfilled value. */
export function exactlyOne<T>(results: PromiseSettledResult<T>[], type: string): T {
  const fulfilled = results.filter((r): r is PromiseFulfilledResult<T> => r.status === 'fulfilled');
  const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (fulfilled.length !== 1) throw new Error(`expected exactly one success, got ${fulfilled.length}`);
  for (const r of rejected) {
    if ((r.reason as { type?: unknown })?.type !== type) throw new Error(`expected ${type}, got ${String(r.reason)}`);
  }
  return fulfilled[0].value;
}
