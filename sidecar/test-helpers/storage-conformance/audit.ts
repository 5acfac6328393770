import { describe, expect, it } from 'vitest';
import type { AuditEntry } from '../../src/storage/types.ts';
import type { StorageHarness } from './fixtures.ts';
import { AUDIT, KEY_1, KEY_2, bytes, newVault } from './fixtures.ts';

/** The audit part of `storageConformanceSuite()`; not meant to be called on its own. */
export function auditConformance(current: () => StorageHarness): void {
  describe('audit log', () => {
    const entry = (over: Partial<AuditEntry>): AuditEntry => ({
      at: '2025-03-01T10:00:00.000Z',
      actor: 'CN=a',
      op: 'list',
      result: 'ok',
      ...over,
    });

    it('records writes and deletes in the same transaction, with their results', async () => {
      const { storage } = current();
      const { vaultId } = await newVault(storage);
      await storage.upsertSecret({ vaultId, keyId: KEY_1, meta: bytes(1), value: bytes(1), at: AUDIT.at }, AUDIT);
      await storage.deleteSecret(vaultId, KEY_1, { ...AUDIT, op: 'delete' });
      await storage.deleteSecret(vaultId, KEY_2, { ...AUDIT, op: 'delete' });
      const log = await storage.listAudit({ vaultId });
      expect(log.map(({ seq: _seq, ...rest }) => rest)).toEqual([
        { at: AUDIT.at, actor: AUDIT.actor, op: 'put', vaultId, keyId: KEY_1, result: 'ok' },
        { at: AUDIT.at, actor: AUDIT.actor, op: 'delete', vaultId, keyId: KEY_1, result: 'ok' },
        { at: AUDIT.at, actor: AUDIT.actor, op: 'delete', vaultId, keyId: KEY_2, result: 'not-found' },
      ]);
    });

    it('appends single entries and batches, with increasing seq and optional fields left out', async () => {
      const { storage } = current();
      await storage.appendAudit(entry({ op: 'info' }));
      await storage.appendAudit([entry({ vaultId: 'v1', keyId: KEY_1, op: 'get' }), entry({ vaultId: 'v1', result: 'storage-failure' })]);
      await storage.appendAudit([]);
      const log = await storage.listAudit();
      expect(log).toHaveLength(3);
      expect(log[0].seq).toBeLessThan(log[1].seq);
      expect(log[1].seq).toBeLessThan(log[2].seq);
      expect(log[0]).not.toHaveProperty('vaultId');
      expect(log[0]).not.toHaveProperty('keyId');
      expect(log[2]).toMatchObject({ vaultId: 'v1', result: 'storage-failure' });
      expect(log[2]).not.toHaveProperty('keyId');
    });

    it('filters by vault, key, actor, op, time and seq, and limits', async () => {
      const { storage } = current();
      await storage.appendAudit([
        entry({ at: '2025-03-01T10:00:00.000Z', vaultId: 'v1', keyId: KEY_1, op: 'get', actor: 'CN=a' }),
        entry({ at: '2025-03-02T10:00:00.000Z', vaultId: 'v1', keyId: KEY_2, op: 'get', actor: 'CN=b' }),
        entry({ at: '2025-03-03T10:00:00.000Z', vaultId: 'v2', keyId: KEY_1, op: 'put', actor: 'CN=a' }),
        entry({ at: '2025-03-04T10:00:00.000Z', vaultId: 'v2', op: 'list', actor: 'CN=b' }),
      ]);
      const ops = async (filter: Parameters<typeof storage.listAudit>[0]): Promise<string[]> =>
        (await storage.listAudit(filter)).map((e) => `${e.vaultId}/${e.op}/${e.actor}`);
      expect(await ops({ vaultId: 'v1' })).toEqual(['v1/get/CN=a', 'v1/get/CN=b']);
      expect(await ops({ keyId: KEY_1 })).toEqual(['v1/get/CN=a', 'v2/put/CN=a']);
      expect(await ops({ actor: 'CN=b' })).toEqual(['v1/get/CN=b', 'v2/list/CN=b']);
      expect(await ops({ op: 'put' })).toEqual(['v2/put/CN=a']);
      expect(await ops({ since: '2025-03-02T10:00:00.000Z', until: '2025-03-04T10:00:00.000Z' })).toEqual(['v1/get/CN=b', 'v2/put/CN=a']);
      expect(await ops({ vaultId: 'v2', actor: 'CN=a' })).toEqual(['v2/put/CN=a']);
      const all = await storage.listAudit();
      expect(await ops({ afterSeq: all[1].seq })).toEqual(['v2/put/CN=a', 'v2/list/CN=b']);
      expect(await ops({ limit: 2 })).toEqual(['v1/get/CN=a', 'v1/get/CN=b']);
      expect(await ops({ vaultId: 'none' })).toEqual([]);
    });

    it('refuses UPDATE and DELETE of audit rows behind the interface', async () => {
      const { storage, tamperAudit } = current();
      await storage.appendAudit([entry({ op: 'first' }), entry({ op: 'second' })]);
      const before = await storage.listAudit();
      await expect(tamperAudit.update(before[0].seq)).rejects.toThrow();
      await expect(tamperAudit.delete(before[1].seq)).rejects.toThrow();
      expect(await storage.listAudit()).toEqual(before);
    });
  });
}
