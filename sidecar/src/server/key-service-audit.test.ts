import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildSecret, makeFixture, makeSite, type Fixture } from '../../test-helpers/key-service-fixture.ts';

let fx: Fixture;
beforeEach(async () => {
  fx = await makeFixture();
});
afterEach(async () => {
  await fx.cleanup();
});

describe('KeyService audit log', () => {
  it('writes one row per operation (per key for get), with opaque ids only', async () => {
    const site = makeSite();
    const { request } = buildSecret(site, 'audited_name', 'v');
    const missing = '0'.repeat(64);
    await fx.service.put(site.identity, request);
    await fx.service.get(site.identity, [request.keyId, missing, request.keyId]);
    await fx.service.list(site.identity);
    await fx.service.delete(site.identity, request.keyId);
    await fx.service.delete(site.identity, request.keyId);
    const vaultId = (await fx.storage.findVault({ siteId: site.siteId, environment: 'development', region: 'eu' }))!.vaultId;
    const log = (await fx.storage.listAudit()).map(({ seq: _seq, ...rest }) => rest);
    const actor = site.identity.subject;
    expect(log).toEqual([
      { at: '2025-05-01T12:00:01.000Z', actor, op: 'put', vaultId, keyId: request.keyId, result: 'ok' },
      { at: '2025-05-01T12:00:02.000Z', actor, op: 'get', vaultId, keyId: request.keyId, result: 'ok' },
      { at: '2025-05-01T12:00:02.000Z', actor, op: 'get', vaultId, keyId: missing, result: 'not-found' },
      { at: '2025-05-01T12:00:03.000Z', actor, op: 'list', vaultId, result: 'ok' },
      { at: '2025-05-01T12:00:04.000Z', actor, op: 'delete', vaultId, keyId: request.keyId, result: 'ok' },
      { at: '2025-05-01T12:00:05.000Z', actor, op: 'delete', vaultId, keyId: request.keyId, result: 'not-found' },
    ]);
    expect(JSON.stringify(log)).not.toContain('audited_name');
  });

  it('audits operations on a site without a vault', async () => {
    const site = makeSite();
    const keyId = 'c'.repeat(64);
    await fx.service.get(site.identity, [keyId]);
    await fx.service.list(site.identity);
    await fx.service.delete(site.identity, keyId);
    const log = await fx.storage.listAudit();
    expect(log.map((e) => [e.op, e.keyId, e.result, e.vaultId])).toEqual([
      ['get', keyId, 'not-found', undefined],
      ['list', undefined, 'ok', undefined],
      ['delete', keyId, 'not-found', undefined],
    ]);
  });

  it('audits refused requests with the problem type, never recording a malformed key id', async () => {
    const site = makeSite();
    const { request } = buildSecret(site, 'n', 'v');
    await expect(fx.service.put(site.identity, { ...request, ciphertext: 'nope' })).rejects.toMatchObject({ type: 'invalid-field' });
    await expect(fx.service.put(site.identity, { ...request, keyId: 'my_plain_key_name' })).rejects.toMatchObject({
      type: 'invalid-field',
    });
    await expect(fx.service.get(site.identity, ['my_plain_key_name'])).rejects.toMatchObject({ type: 'invalid-field' });
    await expect(fx.service.delete(site.identity, 'my_plain_key_name')).rejects.toMatchObject({ type: 'invalid-field' });
    const log = await fx.storage.listAudit();
    expect(log.map((e) => [e.op, e.keyId, e.result])).toEqual([
      ['put', request.keyId, 'invalid-field'],
      ['put', undefined, 'invalid-field'],
      ['get', undefined, 'invalid-field'],
      ['delete', undefined, 'invalid-field'],
    ]);
    expect(JSON.stringify(log)).not.toContain('my_plain_key_name');
  });

  it('audits a refused identity without serving it', async () => {
    const bad = { siteId: 'site with spaces', environment: 'development' as const, subject: 'CN=odd' };
    await expect(fx.service.list(bad)).rejects.toMatchObject({ type: 'unauthorized' });
    await expect(fx.service.list({ ...bad, siteId: 'ok_site', environment: 'staging' as never })).rejects.toMatchObject({
      type: 'unauthorized',
    });
    const log = await fx.storage.listAudit();
    expect(log.map((e) => [e.op, e.actor, e.result])).toEqual([
      ['list', 'CN=odd', 'unauthorized'],
      ['list', 'CN=odd', 'unauthorized'],
    ]);
  });

  it('records a usage report as one row per record, and refuses a malformed one whole', async () => {
    const site = makeSite();
    const { request } = buildSecret(site, 'used_name', 'v');
    await fx.service.put(site.identity, request);
    const record = { keyId: request.keyId, caller: 'plugin:mailer', reads: 4, denied: 1, lastReadAt: '2026-03-01T10:00:00Z' };
    expect(await fx.service.recordUsage(site.identity, [record, { ...record, caller: 'core', denied: 0 }])).toBe(2);
    await expect(fx.service.recordUsage(site.identity, [record, { ...record, keyId: 'used_name' }])).rejects.toMatchObject({
      type: 'invalid-field',
      field: 'records[1].keyId',
    });
    await expect(fx.service.recordUsage(site.identity, [{ ...record, caller: 'plugin:a b' }])).rejects.toMatchObject({
      field: 'records[0].caller',
    });
    await expect(fx.service.recordUsage(site.identity, [{ ...record, lastReadAt: '2026-03-01' }])).rejects.toMatchObject({
      field: 'records[0].lastReadAt',
    });
    const log = (await fx.storage.listAudit({ op: 'usage' })).map((e) => [e.actor, e.keyId, e.result]);
    const actor = site.identity.subject;
    expect(log).toEqual([
      [`${actor} via plugin:mailer`, request.keyId, 'reads=4,denied=1,last=2026-03-01T10:00:00Z'],
      [`${actor} via core`, request.keyId, 'reads=4,denied=0,last=2026-03-01T10:00:00Z'],
      [actor, undefined, 'invalid-field'],
      [actor, undefined, 'invalid-field'],
      [actor, undefined, 'invalid-field'],
    ]);
    expect(JSON.stringify(await fx.storage.listAudit())).not.toContain('used_name');
  });

  it('fails the call when the audit row cannot be written, and still refuses once storage is gone', async () => {
    const site = makeSite();
    const { request } = buildSecret(site, 'n', 'v');
    await fx.service.put(site.identity, request);
    await fx.storage.close();
    await expect(fx.service.get(site.identity, [request.keyId])).rejects.toMatchObject({ type: 'storage-failure' });
    await expect(fx.service.put(site.identity, request)).rejects.toMatchObject({ type: 'storage-failure' });
  });
});
