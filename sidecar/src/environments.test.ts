import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestAgent, startTestKeyServer, type TestAgent, type TestKeyServer } from '../test-helpers/keyservice.ts';
import { opaqueKeyId } from './crypto/index.ts';

/**
 * The acceptance test of the certificates issue: two agents against one key service over
 * mutual TLS — one on the development certificate, one that moved to production — hold
 * different values under the same key name and the same KEK, and neither can read the
 * other's. The environment comes from the certificate the key service issued, nothing else.
 */
const work = mkdtempSync(join(tmpdir(), 'kb-env-'));
let server: TestKeyServer;
let development: TestAgent;
let production: TestAgent;
const text = (json: { value_base64: string }) => Buffer.from(json.value_base64, 'base64').toString();

beforeAll(async () => {
  server = await startTestKeyServer();
  development = await startTestAgent(server, { certDir: join(work, 'dev', 'certs') });
  const registered = await development.call('POST', '/v1/register', {
    email: 'owner@example.com',
    password: 'a long enough password',
    site_name: 'Shop',
  });
  expect(registered.status, registered.text).toBe(200);
  expect(registered.json.environment).toBe('development');
  // The production host starts as a copy of the site's certificate directory, then moves.
  cpSync(join(work, 'dev', 'certs'), join(work, 'prod', 'certs'), { recursive: true });
  production = await startTestAgent(server, { certDir: join(work, 'prod', 'certs') });
  const moved = await production.call('POST', '/v1/production', { password: 'a long enough password' });
  expect(moved.status, moved.text).toBe(200);
  expect(moved.json).toMatchObject({ status: 'issued', environment: 'production', site_id: registered.json.site_id });
});

afterAll(async () => {
  await development?.stop();
  await production?.stop();
  await server?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('development and production', () => {
  it('hold different values under one key name and one KEK, each reading only its own', async () => {
    const prod = await production.call('POST', '/v1/keys/set', { name: 'stripe/secret', value: 'sk_live_PRODUCTION' });
    const kek = prod.json.wrapping_key;
    const dev = await development.call('POST', '/v1/keys/set', { name: 'stripe/secret', value: 'sk_test_DEVELOPMENT', wrapping_key: kek });
    expect(dev.json.wrapping_key).toBe(kek);

    const readProd = await production.call('POST', '/v1/keys/get', { name: 'stripe/secret', wrapping_key: kek });
    const readDev = await development.call('POST', '/v1/keys/get', { name: 'stripe/secret', wrapping_key: kek });
    expect(text(readProd.json)).toBe('sk_live_PRODUCTION');
    expect(text(readDev.json)).toBe('sk_test_DEVELOPMENT');

    const listDev = await development.call('GET', '/v1/keys');
    const listProd = await production.call('GET', '/v1/keys');
    expect(listDev.json.environment).toBe('development');
    expect(listProd.json.environment).toBe('production');
  });

  it('refuses a development certificate the production vault, even asked by opaque id', async () => {
    await production.call('POST', '/v1/keys/set', { name: 'only/production', value: 'prod-only' });
    const site = production.certificates.require();
    const productionId = opaqueKeyId(site.siteSecret, 'production', 'only/production');
    // The development agent's own client, its own certificate: the key service picks the vault from it.
    const [fromDevelopment] = await development.client.get([productionId]);
    expect(fromDevelopment).toBeNull();
    const [fromProduction] = await production.client.get([productionId]);
    expect(fromProduction?.ciphertext).toMatch(/^kb1\./);
    const devRead = await development.call('POST', '/v1/keys/fetch', { names: ['only/production'] });
    expect(devRead.json.keys[0].found).toBe(false);
  });

  it('reports each environment from its certificate in the status table', async () => {
    const devStatus = await development.call('GET', '/v1/status');
    const prodStatus = await production.call('GET', '/v1/status');
    expect(devStatus.json).toMatchObject({ environment: 'development', registered: true });
    expect(prodStatus.json).toMatchObject({ environment: 'production', registered: true });
    const row = (report: { rows: { id: string }[] }, id: string) =>
      report.rows.find((r) => r.id === id) as unknown as { severity: string; value: string };
    expect(row(prodStatus.json, 'certificate-valid').value).toContain('OU=production');
    expect(row(devStatus.json, 'site-registered').value).toContain('owner@example.com');
    expect(row(devStatus.json, 'keyservice').severity).toBe('ok');
  });

  it('stops a revoked certificate at its next request', async () => {
    const copy = await startTestAgent(server, { certDir: join(work, 'stolen', 'certs') });
    cpSync(join(work, 'dev', 'certs'), join(work, 'stolen', 'certs'), { recursive: true });
    const before = await copy.call('GET', '/v1/keys');
    expect(before.status).toBe(200);
    // The owner revokes the development certificate; the stolen copy is refused at once.
    expect((await development.call('POST', '/v1/certificates/revoke', {})).json).toEqual({ revoked: true });
    const after = await copy.call('GET', '/v1/keys');
    expect(after.status).toBe(401);
    expect(after.json.type).toBe('certificate-revoked');
    const write = await copy.call('POST', '/v1/keys/set', { name: 'x', value: 'y' });
    expect(write.json.type).toBe('certificate-revoked');
    await copy.stop();
    // Production is another certificate and keeps working.
    expect((await production.call('GET', '/v1/keys')).status).toBe(200);
  });
});
