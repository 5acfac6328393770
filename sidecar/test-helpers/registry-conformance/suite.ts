import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Registry } from '../../src/storage/registry-types.ts';
import { certificatesConformance } from './certificates.ts';
import { AT, HASH, at, certificate, exactlyOne, newSite } from './fixtures.ts';
import type { MakeRegistry, RegistryHarness } from './fixtures.ts';

export type { MakeRegistry, RegistryHarness } from './fixtures.ts';

/**
 * The one test suite every `Registry` backend must pass (SQLite now, PostgreSQL later).
 * A backend's test file calls `registryConformanceSuite('sqlite', makeRegistry)`.
 */
export function registryConformanceSuite(name: string, makeRegistry: MakeRegistry): void {
  describe(`Registry conformance: ${name}`, () => {
    let harness: RegistryHarness;
    let registry: Registry;
    beforeEach(async () => {
      harness = await makeRegistry();
      registry = harness.registry;
    });
    afterEach(async () => {
      await harness.registry.close().catch(() => undefined);
      await harness.cleanup();
    });

    describe('accounts', () => {
      it('creates an account with a generated id and a lowercased, trimmed email', async () => {
        const account = await registry.createAccount({ email: '  Alice@Example.ORG ', passwordHash: HASH, at: AT });
        expect(account).toEqual({ accountId: expect.stringMatching(/\S/), email: 'alice@example.org', passwordHash: HASH, createdAt: AT });
        expect(await registry.findAccountByEmail('alice@example.org')).toEqual(account);
        expect(await registry.findAccountByEmail(' ALICE@example.org')).toEqual(account);
        const other = await registry.createAccount({ email: 'bob@example.org', passwordHash: HASH, at: AT });
        expect(other.accountId).not.toBe(account.accountId);
      });

      it('finds nothing for an unknown or empty email', async () => {
        await registry.createAccount({ email: 'alice@example.org', passwordHash: HASH, at: AT });
        expect(await registry.findAccountByEmail('alice@example.com')).toBeNull();
        expect(await registry.findAccountByEmail('')).toBeNull();
      });

      it('refuses a second account for the same email in any case, keeping the first', async () => {
        const first = await registry.createAccount({ email: 'alice@example.org', passwordHash: HASH, at: AT });
        for (const email of ['alice@example.org', 'ALICE@EXAMPLE.ORG', ' Alice@example.org\t']) {
          await expect(registry.createAccount({ email, passwordHash: 'other', at: at(2) })).rejects.toMatchObject({
            type: 'account-exists',
          });
        }
        expect(await registry.findAccountByEmail('alice@example.org')).toEqual(first);
      });

      it('keeps unicode emails, lowercased', async () => {
        const account = await registry.createAccount({ email: 'Zoë.Ångström@Exämple.ORG', passwordHash: HASH, at: AT });
        expect(account.email).toBe('zoë.ångström@exämple.org');
        expect((await registry.findAccountByEmail('ZOË.ÅNGSTRÖM@EXÄMPLE.org'))?.accountId).toBe(account.accountId);
      });

      it('refuses an empty email or password hash', async () => {
        await expect(registry.createAccount({ email: '  ', passwordHash: HASH, at: AT })).rejects.toMatchObject({
          type: 'invalid-field',
          field: 'email',
        });
        await expect(registry.createAccount({ email: 'a@b.c', passwordHash: '', at: AT })).rejects.toMatchObject({
          type: 'invalid-field',
          field: 'passwordHash',
        });
        expect(await registry.findAccountByEmail('a@b.c')).toBeNull();
      });

      it('lets exactly one of 20 concurrent creates with one email succeed', async () => {
        const results = await Promise.allSettled(
          Array.from({ length: 20 }, (_, i) =>
            registry.createAccount({ email: i % 2 ? 'Race@Example.org' : 'race@example.ORG', passwordHash: `h${i}`, at: AT }),
          ),
        );
        const winner = exactlyOne(results, 'account-exists');
        expect(await registry.findAccountByEmail('race@example.org')).toEqual(winner);
      });

      it('lets exactly one create win across two registries on one database', async (ctx) => {
        if (!harness.openPeer) return ctx.skip('this implementation has no peer registry on one database');
        const peer = await harness.openPeer();
        try {
          const results = await Promise.allSettled(
            Array.from({ length: 20 }, (_, i) =>
              (i % 2 ? peer : registry).createAccount({ email: 'peer@example.org', passwordHash: `h${i}`, at: AT }),
            ),
          );
          const winner = exactlyOne(results, 'account-exists');
          expect(await peer.findAccountByEmail('peer@example.org')).toEqual(winner);
        } finally {
          await peer.close();
        }
      });
    });

    describe('sites', () => {
      it('creates a site with a generated id, no partner and no production approval', async () => {
        const account = await registry.createAccount({ email: 'owner@example.org', passwordHash: HASH, at: AT });
        const site = await registry.createSite({ accountId: account.accountId, name: 'Blog', region: 'eu', at: AT });
        expect(site).toEqual({
          siteId: expect.stringMatching(/^site_[A-Za-z0-9_-]{22}$/),
          accountId: account.accountId,
          name: 'Blog',
          region: 'eu',
          partner: null,
          productionApproval: 'none',
          createdAt: AT,
        });
        expect(await registry.getSite(site.siteId)).toEqual(site);
        const partnered = await registry.createSite({ accountId: account.accountId, name: 'P', region: 'us', partner: 'pantheon', at: AT });
        expect((await registry.getSite(partnered.siteId))?.partner).toBe('pantheon');
      });

      it('gives every site a distinct id', async () => {
        const { accountId } = await registry.createAccount({ email: 'many@example.org', passwordHash: HASH, at: AT });
        const sites = await Promise.all(
          Array.from({ length: 50 }, () => registry.createSite({ accountId, name: 's', region: 'eu', at: AT })),
        );
        expect(new Set(sites.map((s) => s.siteId)).size).toBe(50);
      });

      it('stores unicode site names exactly', async () => {
        const names = ['Café Zoë 🔑', 'مدونة', '日本語のサイト', 'quote\'s "and" `ticks`; DROP TABLE sites;--', 'e\u0301 vs é'];
        for (const name of names) {
          const site = await newSite(registry, { name });
          expect((await registry.getSite(site.siteId))?.name).toBe(name);
        }
      });

      it('refuses a site of an unknown account, or without a name or region', async () => {
        await expect(registry.createSite({ accountId: 'acct_nope', name: 'x', region: 'eu', at: AT })).rejects.toMatchObject({
          type: 'invalid-field',
          field: 'accountId',
        });
        const { accountId } = await registry.createAccount({ email: 'o@example.org', passwordHash: HASH, at: AT });
        await expect(registry.createSite({ accountId, name: '', region: 'eu', at: AT })).rejects.toMatchObject({ field: 'name' });
        await expect(registry.createSite({ accountId, name: 'x', region: '', at: AT })).rejects.toMatchObject({ field: 'region' });
        expect(await registry.listSites()).toEqual([]);
      });

      it('returns null or false for unknown site ids', async () => {
        expect(await registry.getSite('site_nope')).toBeNull();
        expect(await registry.setProductionApproval('site_nope', 'approved', AT)).toBe(false);
        expect(await registry.listSites({ accountId: 'acct_nope' })).toEqual([]);
      });

      it('lists sites oldest first, filtered by account and approval', async () => {
        const a = await registry.createAccount({ email: 'a@example.org', passwordHash: HASH, at: AT });
        const b = await registry.createAccount({ email: 'b@example.org', passwordHash: HASH, at: AT });
        const make = (accountId: string, name: string, day: number) => registry.createSite({ accountId, name, region: 'eu', at: at(day) });
        await make(a.accountId, 'a3', 3);
        await make(b.accountId, 'b2', 2);
        await make(a.accountId, 'a1', 1);
        await make(a.accountId, 'a4', 4);
        await make(a.accountId, 'a4-later', 4);
        const names = async (filter?: Parameters<Registry['listSites']>[0]) => (await registry.listSites(filter)).map((s) => s.name);
        expect(await names()).toEqual(['a1', 'b2', 'a3', 'a4', 'a4-later']);
        expect(await names({ accountId: a.accountId })).toEqual(['a1', 'a3', 'a4', 'a4-later']);
        expect(await names({ productionApproval: 'none' })).toEqual(['a1', 'b2', 'a3', 'a4', 'a4-later']);
        expect(await names({ productionApproval: 'pending' })).toEqual([]);
      });

      it('sets the production approval, visible in get and list', async () => {
        const site = await newSite(registry);
        const other = await newSite(registry);
        expect(await registry.setProductionApproval(site.siteId, 'pending', at(2))).toBe(true);
        expect((await registry.getSite(site.siteId))?.productionApproval).toBe('pending');
        expect((await registry.listSites({ productionApproval: 'pending' })).map((s) => s.siteId)).toEqual([site.siteId]);
        expect(await registry.setProductionApproval(site.siteId, 'approved', at(3))).toBe(true);
        expect(await registry.setProductionApproval(site.siteId, 'approved', at(4))).toBe(true);
        expect(await registry.listSites({ accountId: site.accountId, productionApproval: 'approved' })).toEqual([
          { ...site, productionApproval: 'approved' },
        ]);
        expect((await registry.getSite(other.siteId))?.productionApproval).toBe('none');
        await expect(registry.setProductionApproval(site.siteId, 'maybe' as never, AT)).rejects.toMatchObject({
          type: 'invalid-field',
        });
        expect((await registry.getSite(site.siteId))?.productionApproval).toBe('approved');
      });
    });

    certificatesConformance(() => harness);

    describe('close', () => {
      it('rejects every call after close, and close twice is fine', async () => {
        const site = await newSite(registry);
        await registry.close();
        await registry.close();
        const calls: Promise<unknown>[] = [
          registry.createAccount({ email: 'late@example.org', passwordHash: HASH, at: AT }),
          registry.findAccountByEmail('late@example.org'),
          registry.createSite({ accountId: site.accountId, name: 'x', region: 'eu', at: AT }),
          registry.getSite(site.siteId),
          registry.listSites(),
          registry.setProductionApproval(site.siteId, 'approved', AT),
          registry.recordCertificate(certificate(site.siteId, 'abc')),
          registry.getCertificate('abc'),
          registry.listCertificates(site.siteId),
          registry.revokeCertificate('abc', { at: AT, by: 'op', reason: 'r' }),
          registry.useNonce(site.siteId, 'n', AT),
        ];
        for (const call of calls) await expect(call).rejects.toMatchObject({ type: 'storage-failure' });
      });
    });
  });
}
