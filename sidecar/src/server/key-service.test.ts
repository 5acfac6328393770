import { readFileSync, existsSync } from 'node:fs';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fromBase64Url, fromUtf8, unwrapValue } from '../crypto/index.ts';
import { openSoftwareRootKey } from '../sealing/software.ts';
import { openSqliteStorage } from '../storage/sqlite/storage.ts';
import { KeyService } from './key-service.ts';
import { buildSecret, makeFixture, makeSite, otherEnvironment, rejection, type Fixture } from '../../test-helpers/key-service-fixture.ts';

let fx: Fixture;
beforeEach(async () => {
  fx = await makeFixture();
});
afterEach(async () => {
  await fx.cleanup();
});

function raw<T>(fn: (db: Database.Database) => T): T {
  const db = new Database(fx.dbFile);
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

describe('KeyService round trips', () => {
  it('reports its version, region and at-rest protection', async () => {
    expect(await fx.service.info()).toEqual({
      version: '9.9.9-test',
      region: 'eu',
      atRest: { kind: 'software', description: `software root key file ${fx.rootKeyFile}`, healthy: true },
    });
  });

  it('puts, gets, lists and deletes', async () => {
    const site = makeSite();
    const { request, kek } = buildSecret(site, 'stripe_api_key', 'sk_live_123', 'Stripe');
    expect(await fx.service.put(site.identity, request)).toEqual({ version: 1, updatedAt: '2025-05-01T12:00:01.000Z' });
    const [got] = await fx.service.get(site.identity, [request.keyId]);
    expect(got).toEqual({ ...request, version: 1, updatedAt: '2025-05-01T12:00:01.000Z', reads: 1 });
    const context = { siteId: site.siteId, environment: site.environment, keyId: request.keyId };
    expect(fromUtf8(unwrapValue(kek, got!.ciphertext, context))).toBe('sk_live_123');

    const again = buildSecret(site, 'stripe_api_key', 'sk_live_456', '', kek).request;
    expect((await fx.service.put(site.identity, again)).version).toBe(2);
    const listed = await fx.service.list(site.identity);
    expect(listed).toEqual([
      {
        keyId: request.keyId,
        sealedName: again.sealedName,
        sealedLabel: '',
        kekId: again.kekId,
        version: 2,
        updatedAt: '2025-05-01T12:00:03.000Z',
        reads: 1,
      },
    ]);
    expect(listed[0]).not.toHaveProperty('ciphertext');

    expect(await fx.service.delete(site.identity, request.keyId)).toBe(true);
    expect(await fx.service.delete(site.identity, request.keyId)).toBe(false);
    expect(await fx.service.get(site.identity, [request.keyId])).toEqual([null]);
    expect(await fx.service.list(site.identity)).toEqual([]);
  });

  it('answers get in request order, with null for unknown ids and copies for repeats', async () => {
    const site = makeSite();
    const a = buildSecret(site, 'a', 'va').request;
    const b = buildSecret(site, 'b', 'vb').request;
    await fx.service.put(site.identity, a);
    await fx.service.put(site.identity, b);
    const unknown = 'f'.repeat(64);
    const got = await fx.service.get(site.identity, [b.keyId, unknown, a.keyId, b.keyId]);
    expect(got.map((s) => s?.ciphertext ?? null)).toEqual([b.ciphertext, null, a.ciphertext, b.ciphertext]);
    expect(got[0]).not.toBe(got[3]);
    expect(await fx.service.get(site.identity, [])).toEqual([]);
  });

  it('creates no vault for reads, lists or deletes of a site that never stored anything', async () => {
    const site = makeSite();
    const keyId = 'e'.repeat(64);
    expect(await fx.service.get(site.identity, [keyId])).toEqual([null]);
    expect(await fx.service.list(site.identity)).toEqual([]);
    expect(await fx.service.delete(site.identity, keyId)).toBe(false);
    expect(raw((db) => db.prepare('SELECT COUNT(*) AS n FROM vaults').get())).toEqual({ n: 0 });
  });

  it('gives each new vault a sealed data key and creates it once under concurrent puts', async () => {
    const site = makeSite();
    const secrets = Array.from({ length: 30 }, (_, i) => buildSecret(site, 'same', `v${i}`).request);
    const versions = await Promise.all(secrets.map((s) => fx.service.put(site.identity, s).then((r) => r.version)));
    expect([...versions].sort((x, y) => x - y)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    const vaults = raw((db) => db.prepare('SELECT sealed_data_key, root_key_id, region FROM vaults').all()) as {
      sealed_data_key: Buffer;
      root_key_id: string;
      region: string;
    }[];
    expect(vaults).toHaveLength(1);
    expect(vaults[0].root_key_id).toBe(fx.rootKey.keyId);
    expect(vaults[0].region).toBe('eu');
    expect(vaults[0].sealed_data_key.length).toBe(40);
  });

  it('counts reads per key, once per get even when an id repeats', async () => {
    const site = makeSite();
    const { request } = buildSecret(site, 'counted', 'v');
    await fx.service.put(site.identity, request);
    await fx.service.get(site.identity, [request.keyId, request.keyId]);
    const [third] = await fx.service.get(site.identity, [request.keyId]);
    expect(third?.reads).toBe(2);
    expect((await fx.service.list(site.identity))[0].reads).toBe(2);
  });
});

describe('KeyService isolation', () => {
  it('keeps other sites and the other environment apart, even with the same key id', async () => {
    const dev = makeSite('site_alpha1', 'development');
    const prod = otherEnvironment(dev);
    const stranger = makeSite('site_beta22', 'development');
    const devSecret = buildSecret(dev, 'api_key', 'dev-value').request;
    await fx.service.put(dev.identity, devSecret);

    for (const other of [prod, stranger]) {
      expect(await fx.service.get(other.identity, [devSecret.keyId])).toEqual([null]);
      expect(await fx.service.list(other.identity)).toEqual([]);
      expect(await fx.service.delete(other.identity, devSecret.keyId)).toBe(false);
    }
    const prodSecret = { ...buildSecret(prod, 'api_key', 'prod-value').request, keyId: devSecret.keyId };
    expect((await fx.service.put(prod.identity, prodSecret)).version).toBe(1);
    expect((await fx.service.get(dev.identity, [devSecret.keyId]))[0]?.ciphertext).toBe(devSecret.ciphertext);
    expect((await fx.service.get(prod.identity, [devSecret.keyId]))[0]?.ciphertext).toBe(prodSecret.ciphertext);
    expect(raw((db) => db.prepare('SELECT COUNT(*) AS n FROM vaults').get())).toEqual({ n: 2 });
  });

  it('refuses a record moved to another key id or another vault', async () => {
    const dev = makeSite();
    const prod = otherEnvironment(dev);
    const a = buildSecret(dev, 'a', 'va').request;
    const b = buildSecret(dev, 'b', 'vb').request;
    await fx.service.put(dev.identity, a);
    await fx.service.put(dev.identity, b);
    await fx.service.put(prod.identity, { ...buildSecret(prod, 'x', 'vx').request, keyId: a.keyId });
    // Copy a's sealed value over b's: same vault, other key id.
    raw((db) =>
      db
        .prepare('UPDATE secrets SET value = (SELECT value FROM secrets s WHERE s.key_id = ? LIMIT 1) WHERE key_id = ?')
        .run(a.keyId, b.keyId),
    );
    await expect(fx.service.get(dev.identity, [b.keyId])).rejects.toMatchObject({ type: 'storage-corrupt' });
    // Copy the dev vault's record for a into the prod vault: same key id, other vault.
    raw((db) => {
      const devVault = (db.prepare("SELECT vault_id FROM vaults WHERE environment = 'development'").get() as { vault_id: string }).vault_id;
      db.prepare(
        'UPDATE secrets SET meta = (SELECT meta FROM secrets WHERE vault_id = ? AND key_id = ?), value = (SELECT value FROM secrets WHERE vault_id = ? AND key_id = ?) WHERE vault_id != ? AND key_id = ?',
      ).run(devVault, a.keyId, devVault, a.keyId, devVault, a.keyId);
    });
    await expect(fx.service.get(prod.identity, [a.keyId])).rejects.toMatchObject({ type: 'storage-corrupt' });
    await expect(fx.service.list(prod.identity)).rejects.toMatchObject({ type: 'storage-corrupt' });
  });
});

describe('KeyService at rest', () => {
  it('detects a flipped byte in a stored record with a clear error, and audits the failure', async () => {
    const site = makeSite();
    const { request } = buildSecret(site, 'tampered', 'value');
    await fx.service.put(site.identity, request);
    raw((db) => {
      const row = db.prepare('SELECT value FROM secrets WHERE key_id = ?').get(request.keyId) as { value: Buffer };
      row.value[20] ^= 0x01;
      db.prepare('UPDATE secrets SET value = ? WHERE key_id = ?').run(row.value, request.keyId);
    });
    const error = await rejection(fx.service.get(site.identity, [request.keyId]));
    expect(error).toMatchObject({ type: 'storage-corrupt', status: 500 });
    expect(error.message).toMatch(/does not authenticate under its vault key/);
    expect(error.message).toContain(request.keyId.slice(0, 16));
    expect(await fx.service.list(site.identity)).toHaveLength(1);
    raw((db) => {
      const row = db.prepare('SELECT meta FROM secrets WHERE key_id = ?').get(request.keyId) as { meta: Buffer };
      row.meta[row.meta.length - 1] ^= 0x80;
      db.prepare('UPDATE secrets SET meta = ? WHERE key_id = ?').run(row.meta, request.keyId);
    });
    await expect(fx.service.list(site.identity)).rejects.toMatchObject({ type: 'storage-corrupt' });
    const failures = await fx.storage.listAudit({ actor: site.identity.subject });
    expect(failures.filter((e) => e.result === 'storage-corrupt').map((e) => e.op)).toEqual(['get', 'list']);
  });

  it('keeps no readable name, label, KEK id or ciphertext in the database file or its WAL', async () => {
    const site = makeSite();
    const secrets = [
      buildSecret(site, 'PLAINTEXT_NAME_smtp_password', 'PLAINTEXT_VALUE_hunter2', 'PLAINTEXT_LABEL_Mail'),
      buildSecret(site, 'PLAINTEXT_NAME_api', 'PLAINTEXT_VALUE_' + 'x'.repeat(5000), 'PLAINTEXT_LABEL_Api'),
    ];
    for (const { request } of secrets) await fx.service.put(site.identity, request);
    await fx.service.get(
      site.identity,
      secrets.map((s) => s.request.keyId),
    );
    const needles: Buffer[] = [Buffer.from('PLAINTEXT_')];
    for (const { request, kek } of secrets) {
      for (const text of [request.sealedName, request.sealedLabel, request.kekId, request.ciphertext]) {
        needles.push(Buffer.from(text));
      }
      needles.push(Buffer.from(fromBase64Url(request.ciphertext.slice(4))).subarray(12, 40));
      needles.push(Buffer.from(fromBase64Url(request.sealedName)).subarray(12));
      needles.push(Buffer.from(kek));
    }
    const check = (): void => {
      for (const file of [fx.dbFile, `${fx.dbFile}-wal`]) {
        if (!existsSync(file)) continue;
        const bytes = readFileSync(file);
        for (const needle of needles) expect(bytes.includes(needle), `${file} contains a stored plaintext`).toBe(false);
      }
    };
    expect(existsSync(`${fx.dbFile}-wal`)).toBe(true);
    check();
    await fx.service.close();
    check();
    expect(readFileSync(fx.dbFile).includes(Buffer.from(secrets[0].request.keyId))).toBe(true);
  });

  it('refuses to open vaults with another root key', async () => {
    const site = makeSite();
    const { request } = buildSecret(site, 'n', 'v');
    await fx.service.put(site.identity, request);
    await fx.service.close();
    const storage = await openSqliteStorage(fx.dbFile);
    const otherKey = await openSoftwareRootKey(`${fx.dir}/other.key`);
    const service = new KeyService({ storage, rootKey: otherKey, region: 'eu', version: 't' });
    await expect(service.get(site.identity, [request.keyId])).rejects.toMatchObject({
      type: 'root-key-unavailable',
      message: expect.stringContaining(otherKey.keyId),
    });
    await service.close();
  });

  it('reopens the same vault and values after a restart', async () => {
    const site = makeSite();
    const { request } = buildSecret(site, 'n', 'v');
    await fx.service.put(site.identity, request);
    await fx.service.close();
    const service = new KeyService({
      storage: await openSqliteStorage(fx.dbFile),
      rootKey: await openSoftwareRootKey(fx.rootKeyFile),
      region: 'eu',
      version: 't',
    });
    expect((await service.get(site.identity, [request.keyId]))[0]?.ciphertext).toBe(request.ciphertext);
    await service.close();
  });

  it('refuses every call once closed, and closes its storage and root key', async () => {
    const site = makeSite();
    const { request } = buildSecret(site, 'n', 'v');
    await fx.service.put(site.identity, request);
    await fx.service.close();
    await fx.service.close();
    expect(fx.service.closed).toBe(true);
    for (const call of [
      fx.service.info(),
      fx.service.put(site.identity, request),
      fx.service.get(site.identity, [request.keyId]),
      fx.service.list(site.identity),
      fx.service.delete(site.identity, request.keyId),
    ]) {
      await expect(call).rejects.toMatchObject({ type: 'keyservice-unavailable' });
    }
    await expect(fx.storage.listAudit()).rejects.toMatchObject({ type: 'storage-failure' });
    await expect(fx.rootKey.wrapDataKey(new Uint8Array(32))).rejects.toMatchObject({ type: 'root-key-unavailable' });
  });
});
