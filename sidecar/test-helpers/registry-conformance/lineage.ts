import { describe, expect, it } from 'vitest';
import type { Registry } from '../../src/storage/registry-types.ts';
import type { RegistryHarness } from './fixtures.ts';
import { AT, HASH, at, certificate, newSite } from './fixtures.ts';

/**
 * The certificate lineage part of `registryConformanceSuite()` (DESIGN.md, Certificates):
 * origins and parents, a renewal superseding its parent, a revocation of a whole lineage that
 * no concurrent renewal escapes, last seen, accounts' passwords and per-request production
 * approval. Not meant to be called on its own.
 */
export function lineageConformance(current: () => RegistryHarness): void {
  const REVOKE = { at: at(6), by: 'owner', reason: 'stolen host copy' };

  describe('certificate lineage', () => {
    it('keeps origin and parent, and refuses an unknown origin', async () => {
      const { registry } = current();
      const site = await newSite(registry);
      await registry.recordCertificate(certificate(site.siteId, 'a1'));
      await registry.recordCertificate(certificate(site.siteId, 'a2', { origin: 'custom', parentSerial: 'a1', issuedAt: at(2) }));
      expect(await registry.getCertificate('a2')).toMatchObject({
        origin: 'custom',
        parentSerial: 'a1',
        supersededAt: null,
        lastSeenAt: null,
      });
      await expect(registry.recordCertificate(certificate(site.siteId, 'a3', { origin: 'stolen' as never }))).rejects.toMatchObject({
        type: 'invalid-field',
        field: 'origin',
      });
      await expect(registry.recordCertificate(certificate(site.siteId, 'a4', { supersedeParentAt: at(3) }))).rejects.toMatchObject({
        type: 'invalid-field',
        field: 'supersedeParentAt',
      });
      expect((await registry.listCertificates(site.siteId)).map((c) => c.serialHex)).toEqual(['a2', 'a1']);
    });

    it('supersedes the parent of a renewal at the given time, keeping the earliest end', async () => {
      const { registry } = current();
      const site = await newSite(registry);
      await registry.recordCertificate(certificate(site.siteId, 'b1'));
      await registry.recordCertificate(
        certificate(site.siteId, 'b2', { origin: 'renewal', parentSerial: 'b1', issuedAt: at(2), supersedeParentAt: at(2, 1) }),
      );
      expect((await registry.getCertificate('b1'))?.supersededAt).toBe(at(2, 1));
      // A second renewal of the same parent inside the overlap: allowed, and the end stays the first one.
      await registry.recordCertificate(
        certificate(site.siteId, 'b3', { origin: 'renewal', parentSerial: 'b1', issuedAt: at(2), supersedeParentAt: at(2, 5) }),
      );
      expect((await registry.getCertificate('b1'))?.supersededAt).toBe(at(2, 1));
      // After the overlap the parent is no longer a live parent.
      await expect(
        registry.recordCertificate(certificate(site.siteId, 'b4', { origin: 'renewal', parentSerial: 'b1', issuedAt: at(2, 2) })),
      ).rejects.toMatchObject({ type: 'certificate-revoked' });
      expect(await registry.getCertificate('b4')).toBeNull();
    });

    it('refuses a child of a revoked parent unless told the parent may be dead (re-issue)', async () => {
      const { registry } = current();
      const site = await newSite(registry);
      await registry.recordCertificate(certificate(site.siteId, 'c1'));
      await registry.revokeCertificate('c1', REVOKE);
      await expect(
        registry.recordCertificate(certificate(site.siteId, 'c2', { origin: 'renewal', parentSerial: 'c1', issuedAt: at(7) })),
      ).rejects.toMatchObject({ type: 'certificate-revoked' });
      await registry.recordCertificate(
        certificate(site.siteId, 'c3', { origin: 'reissue', parentSerial: 'c1', issuedAt: at(7), requireLiveParent: false }),
      );
      expect(await registry.getCertificate('c3')).toMatchObject({ origin: 'reissue', parentSerial: 'c1', revokedAt: null });
      expect(await registry.getCertificate('c2')).toBeNull();
    });

    it("revokes a whole lineage: one site's environment, issued up to the time, first revocations kept", async () => {
      const { registry } = current();
      const site = await newSite(registry);
      const other = await newSite(registry);
      await registry.recordCertificate(certificate(site.siteId, 'd1', { issuedAt: at(1) }));
      await registry.recordCertificate(
        certificate(site.siteId, 'd2', { origin: 'renewal', parentSerial: 'd1', issuedAt: at(2), supersedeParentAt: at(2, 1) }),
      );
      await registry.recordCertificate(certificate(site.siteId, 'd3', { origin: 'renewal', parentSerial: 'd2', issuedAt: at(3) }));
      await registry.recordCertificate(certificate(site.siteId, 'd4', { origin: 'renewal', parentSerial: 'd3', issuedAt: at(4) }));
      await registry.revokeCertificate('d3', { at: at(3, 5), by: 'operator', reason: 'earlier' });
      await registry.recordCertificate(
        certificate(site.siteId, 'ab1', { environment: 'production', origin: 'production', parentSerial: 'd2', issuedAt: at(3) }),
      );
      await registry.recordCertificate(certificate(site.siteId, 'd9', { issuedAt: at(9) }));
      await registry.recordCertificate(certificate(other.siteId, 'e1', { issuedAt: at(1) }));

      const revoked = await registry.revokeLineage({ siteId: site.siteId, environment: 'development', issuedUpTo: at(5), ...REVOKE });
      expect(revoked).toEqual(['d1', 'd2', 'd4']);
      for (const serial of ['d1', 'd2', 'd4'])
        expect(await registry.getCertificate(serial)).toMatchObject({ revokedAt: REVOKE.at, revokedBy: 'owner' });
      expect(await registry.getCertificate('d3')).toMatchObject({
        revokedAt: at(3, 5),
        revokedBy: 'operator',
        revocationReason: 'earlier',
      });
      for (const serial of ['ab1', 'd9', 'e1']) expect((await registry.getCertificate(serial))?.revokedAt).toBeNull();
      expect(await registry.revokeLineage({ siteId: site.siteId, environment: 'development', issuedUpTo: at(5), ...REVOKE })).toEqual([]);
      expect(await registry.revokeLineage({ siteId: 'site_nope', environment: 'production', issuedUpTo: at(5), ...REVOKE })).toEqual([]);
      await expect(
        registry.revokeLineage({ siteId: site.siteId, environment: 'staging' as never, issuedUpTo: at(5), ...REVOKE }),
      ).rejects.toMatchObject({ type: 'invalid-field', field: 'environment' });
    });

    it('lets no renewal racing a lineage revocation escape it, also across two registries', async () => {
      const { registry, openPeer } = current();
      const peer: Registry = openPeer ? await openPeer() : registry;
      try {
        const site = await newSite(registry);
        await registry.recordCertificate(certificate(site.siteId, 'f0', { issuedAt: at(1) }));
        const children = Array.from({ length: 20 }, (_, i) => `f${(i + 1).toString(16).padStart(2, '0')}`);
        const results = await Promise.allSettled([
          ...children.map((serial, i) =>
            (i % 2 ? peer : registry).recordCertificate(
              certificate(site.siteId, serial, { origin: 'renewal', parentSerial: 'f0', issuedAt: at(5) }),
            ),
          ),
          registry.revokeLineage({ siteId: site.siteId, environment: 'development', issuedUpTo: at(6), ...REVOKE }),
        ]);
        for (const [i, serial] of children.entries()) {
          const record = await registry.getCertificate(serial);
          if (results[i].status === 'fulfilled') expect(record?.revokedAt, serial).toBe(REVOKE.at);
          else {
            expect((results[i] as PromiseRejectedResult).reason).toMatchObject({ type: 'certificate-revoked' });
            expect(record).toBeNull();
          }
        }
        expect((await registry.getCertificate('f0'))?.revokedAt).toBe(REVOKE.at);
      } finally {
        if (peer !== registry) await peer.close();
      }
    });

    it('notes when a certificate was last seen, never moving it back', async () => {
      const { registry } = current();
      const site = await newSite(registry);
      await registry.recordCertificate(certificate(site.siteId, 'a9'));
      await registry.touchCertificate('A9', at(3));
      expect((await registry.getCertificate('a9'))?.lastSeenAt).toBe(at(3));
      await registry.touchCertificate('a9', at(2));
      expect((await registry.getCertificate('a9'))?.lastSeenAt).toBe(at(3));
      await registry.revokeCertificate('a9', REVOKE);
      await registry.touchCertificate('a9', at(8));
      expect(await registry.getCertificate('a9')).toMatchObject({ lastSeenAt: at(8), revokedAt: REVOKE.at });
      await registry.touchCertificate('abcdef', at(3));
      await registry.touchCertificate('not hex', at(3));
    });
  });

  describe('account passwords', () => {
    it('reads an account by id and replaces its password hash', async () => {
      const { registry } = current();
      const account = await registry.createAccount({ email: 'embedded@example.org', passwordHash: '!', at: AT });
      expect(await registry.getAccount(account.accountId)).toEqual(account);
      expect(await registry.setAccountPassword(account.accountId, HASH)).toBe(true);
      expect((await registry.getAccount(account.accountId))?.passwordHash).toBe(HASH);
      expect((await registry.findAccountByEmail('embedded@example.org'))?.passwordHash).toBe(HASH);
      expect(await registry.getAccount('acct_nope')).toBeNull();
      expect(await registry.setAccountPassword('acct_nope', HASH)).toBe(false);
      await expect(registry.setAccountPassword(account.accountId, '')).rejects.toMatchObject({
        type: 'invalid-field',
        field: 'passwordHash',
      });
    });
  });

  describe('production requests', () => {
    it('keeps which certificate a request is about, and changes it only from the state given', async () => {
      const { registry } = current();
      const site = await newSite(registry);
      expect(await registry.getSite(site.siteId)).toMatchObject({ productionApproval: 'none', productionRequestedBy: null });
      expect(await registry.setProductionApproval(site.siteId, 'pending', at(2), '00AB')).toBe(true);
      expect(await registry.getSite(site.siteId)).toMatchObject({ productionApproval: 'pending', productionRequestedBy: 'ab' });
      const pending = { approval: 'pending' as const, requestedBy: 'ab' };
      expect(
        await registry.updateProductionApproval(
          site.siteId,
          { approval: 'pending', requestedBy: 'cd' },
          { ...pending, approval: 'approved' },
          at(3),
        ),
      ).toBe(false);
      expect(await registry.updateProductionApproval(site.siteId, pending, { approval: 'approved', requestedBy: 'ab' }, at(3))).toBe(true);
      expect((await registry.getSite(site.siteId))?.productionApproval).toBe('approved');
      expect(await registry.updateProductionApproval(site.siteId, pending, { approval: 'denied', requestedBy: 'ab' }, at(4))).toBe(false);
      expect(await registry.updateProductionApproval('site_nope', pending, pending, at(4))).toBe(false);
    });

    it('lets exactly one of 20 concurrent consumers spend an approval', async () => {
      const { registry, openPeer } = current();
      const peer: Registry = openPeer ? await openPeer() : registry;
      try {
        const site = await newSite(registry);
        await registry.setProductionApproval(site.siteId, 'approved', at(2), 'ef');
        const results = await Promise.all(
          Array.from({ length: 20 }, (_, i) =>
            (i % 2 ? peer : registry).updateProductionApproval(
              site.siteId,
              { approval: 'approved', requestedBy: 'ef' },
              { approval: 'none', requestedBy: null },
              at(3),
            ),
          ),
        );
        expect(results.filter(Boolean)).toHaveLength(1);
        expect(await registry.getSite(site.siteId)).toMatchObject({ productionApproval: 'none', productionRequestedBy: null });
      } finally {
        if (peer !== registry) await peer.close();
      }
    });
  });
}
