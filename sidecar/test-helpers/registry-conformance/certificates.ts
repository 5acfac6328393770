import { describe, expect, it } from 'vitest';
import type { RegistryHarness } from './fixtures.ts';
import { AT, at, certificate, newSite } from './fixtures.ts';

/** The certificate and nonce part of `registryConformanceSuite()`; not meant to be called on its own. */
export function certificatesConformance(current: () => RegistryHarness): void {
  const REVOKE = { at: at(5), by: 'operator@example.org', reason: 'key compromise' };

  describe('certificates', () => {
    it('records a certificate and reads it back, not revoked', async () => {
      const { registry } = current();
      const site = await newSite(registry);
      const record = certificate(site.siteId, '0a1b2c3d4e5f', { environment: 'production', issuedAt: at(2) });
      await registry.recordCertificate(record);
      expect(await registry.getCertificate('0a1b2c3d4e5f')).toEqual({
        ...record,
        serialHex: 'a1b2c3d4e5f',
        revokedAt: null,
        revokedBy: null,
        revocationReason: null,
      });
    });

    it('finds a serial by any hex spelling (case, leading zeros)', async () => {
      const { registry } = current();
      const site = await newSite(registry);
      await registry.recordCertificate(certificate(site.siteId, '00ABCDEF'));
      for (const spelling of ['abcdef', 'ABCDEF', '00abcdef', '0000AbCdEf']) {
        expect((await registry.getCertificate(spelling))?.serialHex).toBe('abcdef');
      }
      expect(await registry.getCertificate('abcdee')).toBeNull();
    });

    it('refuses a serial recorded before, in any spelling, keeping the first', async () => {
      const { registry } = current();
      const site = await newSite(registry);
      await registry.recordCertificate(certificate(site.siteId, 'beef', { fingerprintSha256: '1'.repeat(64) }));
      for (const serial of ['beef', 'BEEF', '00beef']) {
        await expect(
          registry.recordCertificate(certificate(site.siteId, serial, { fingerprintSha256: '2'.repeat(64) })),
        ).rejects.toMatchObject({ type: 'invalid-field', field: 'serialHex' });
      }
      expect((await registry.getCertificate('beef'))?.fingerprintSha256).toBe('1'.repeat(64));
      expect(await registry.listCertificates(site.siteId)).toHaveLength(1);
    });

    it('refuses an unknown site, a serial that is not hex, an unknown environment', async () => {
      const { registry } = current();
      const site = await newSite(registry);
      await expect(registry.recordCertificate(certificate('site_nope', 'a1'))).rejects.toMatchObject({
        type: 'invalid-field',
        field: 'siteId',
      });
      for (const serial of ['', 'xyz', '12 34', '0x12', '-1']) {
        await expect(registry.recordCertificate(certificate(site.siteId, serial))).rejects.toMatchObject({
          type: 'invalid-field',
          field: 'serialHex',
        });
      }
      await expect(registry.recordCertificate(certificate(site.siteId, 'a2', { environment: 'staging' as never }))).rejects.toMatchObject({
        type: 'invalid-field',
        field: 'environment',
      });
      expect(await registry.listCertificates(site.siteId)).toEqual([]);
      expect(await registry.getCertificate('xyz')).toBeNull();
    });

    it('records a replacement only for a certificate of the same site', async () => {
      const { registry } = current();
      const site = await newSite(registry);
      const other = await newSite(registry);
      await registry.recordCertificate(certificate(site.siteId, 'd1'));
      await registry.recordCertificate(certificate(other.siteId, 'e1'));
      for (const replacesSerial of ['f1', 'e1']) {
        await expect(
          registry.recordCertificate(certificate(site.siteId, 'd2', { replacesSerial, environment: 'production' })),
        ).rejects.toMatchObject({ type: 'invalid-field', field: 'replacesSerial' });
      }
      await registry.recordCertificate(certificate(site.siteId, 'd2', { replacesSerial: '00D1', environment: 'production' }));
      expect((await registry.getCertificate('d2'))?.replacesSerial).toBe('d1');
    });

    it("lists a site's certificates newest first, and nothing for other sites", async () => {
      const { registry } = current();
      const site = await newSite(registry);
      const other = await newSite(registry);
      await registry.recordCertificate(certificate(site.siteId, 'c2', { issuedAt: at(2) }));
      await registry.recordCertificate(certificate(site.siteId, 'c3', { issuedAt: at(3) }));
      await registry.recordCertificate(certificate(site.siteId, 'c1', { issuedAt: at(1) }));
      await registry.recordCertificate(certificate(site.siteId, 'c4', { issuedAt: at(3) }));
      await registry.recordCertificate(certificate(other.siteId, 'c9', { issuedAt: at(9) }));
      expect((await registry.listCertificates(site.siteId)).map((c) => c.serialHex)).toEqual(['c4', 'c3', 'c2', 'c1']);
      expect((await registry.listCertificates(other.siteId)).map((c) => c.serialHex)).toEqual(['c9']);
      expect(await registry.listCertificates('site_nope')).toEqual([]);
    });

    it('revokes once: later revocations keep the first time, actor and reason', async () => {
      const { registry } = current();
      const site = await newSite(registry);
      await registry.recordCertificate(certificate(site.siteId, 'a5'));
      expect(await registry.revokeCertificate('A5', REVOKE)).toBe(true);
      const revoked = await registry.getCertificate('a5');
      expect(revoked).toMatchObject({ revokedAt: REVOKE.at, revokedBy: REVOKE.by, revocationReason: REVOKE.reason });
      expect(await registry.revokeCertificate('a5', { at: at(6), by: 'someone else', reason: 'superseded' })).toBe(true);
      expect(await registry.getCertificate('a5')).toEqual(revoked);
      expect((await registry.listCertificates(site.siteId))[0]).toEqual(revoked);
    });

    it('returns false when revoking an unknown or malformed serial', async () => {
      const { registry } = current();
      expect(await registry.revokeCertificate('abc123', REVOKE)).toBe(false);
      expect(await registry.revokeCertificate('not hex', REVOKE)).toBe(false);
      expect(await registry.getCertificate('abc123')).toBeNull();
    });

    it('keeps one consistent revocation when revoked concurrently', async () => {
      const { registry } = current();
      const site = await newSite(registry);
      await registry.recordCertificate(certificate(site.siteId, 'ccc'));
      await registry.recordCertificate(certificate(site.siteId, 'ddd'));
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => registry.revokeCertificate('ccc', { at: at(10 + i), by: `op${i}`, reason: `r${i}` })),
      );
      expect(results.every(Boolean)).toBe(true);
      const record = await registry.getCertificate('ccc');
      const i = Number(record?.revokedBy?.slice(2));
      expect(record).toMatchObject({ revokedAt: at(10 + i), revokedBy: `op${i}`, revocationReason: `r${i}` });
      expect((await registry.getCertificate('ddd'))?.revokedAt).toBeNull();
    });
  });

  describe('nonces', () => {
    it('accepts a nonce once per site', async () => {
      const { registry } = current();
      const a = await newSite(registry);
      const b = await newSite(registry);
      expect(await registry.useNonce(a.siteId, 'n-1', AT)).toBe(true);
      expect(await registry.useNonce(a.siteId, 'n-1', at(2))).toBe(false);
      expect(await registry.useNonce(a.siteId, 'N-1', AT)).toBe(true);
      expect(await registry.useNonce(b.siteId, 'n-1', AT)).toBe(true);
      expect(await registry.useNonce(a.siteId, 'n-2', AT)).toBe(true);
      expect(await registry.useNonce(a.siteId, 'n-2', AT)).toBe(false);
      expect(await registry.useNonce(a.siteId, '🔑 nonce', AT)).toBe(true);
      expect(await registry.useNonce(a.siteId, '🔑 nonce', AT)).toBe(false);
    });

    it('lets exactly one of 20 concurrent uses of a nonce succeed', async () => {
      const { registry } = current();
      const site = await newSite(registry);
      const results = await Promise.all(Array.from({ length: 20 }, () => registry.useNonce(site.siteId, 'race', AT)));
      expect(results.filter(Boolean)).toHaveLength(1);
    });

    it('lets exactly one use win across two registries on one database', async (ctx) => {
      const { registry, openPeer } = current();
      if (!openPeer) return ctx.skip('this implementation has no peer registry on one database');
      const site = await newSite(registry);
      const peer = await openPeer();
      try {
        const results = await Promise.all(
          Array.from({ length: 20 }, (_, i) => (i % 2 ? peer : registry).useNonce(site.siteId, 'peer-race', AT)),
        );
        expect(results.filter(Boolean)).toHaveLength(1);
        expect(await peer.useNonce(site.siteId, 'peer-race', AT)).toBe(false);
      } finally {
        await peer.close();
      }
    });
  });
}
