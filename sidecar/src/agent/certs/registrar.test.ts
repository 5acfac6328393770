import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestAgent, startTestKeyServer, type TestAgent, type TestKeyServer } from '../../../test-helpers/keyservice.ts';
import { KeybridgeError } from '../../errors.ts';
import {
  createCsr,
  createProductionRequest,
  generateKeyPairAsync,
  signProductionRequest,
  type SignedProductionRequest,
} from '../../pki/index.ts';

/**
 * The move to production through real agents and a real key service over mutual TLS: what
 * the key service refuses (another site's key, another serial, a replay, a production
 * certificate) and the approval policy.
 */
const work = mkdtempSync(join(tmpdir(), 'kb-registrar-'));
const PASSWORD = 'a long enough password';
const started: { stop(): Promise<void> }[] = [];
let server: TestKeyServer;
let siteA: TestAgent;
let siteB: TestAgent;

async function registeredAgent(on: TestKeyServer, name: string): Promise<TestAgent> {
  const agent = await startTestAgent(on, { certDir: join(work, name, 'certs') });
  started.push(agent);
  const registered = await agent.call('POST', '/v1/register', { email: `${name}@example.com`, password: PASSWORD, site_name: name });
  expect(registered.status, registered.text).toBe(200);
  return agent;
}

/** A production request for `forSite` (its site id and current serial unless overridden), signed with `keyPem`. */
async function productionRequest(
  forSite: TestAgent,
  keyPem: string,
  override: { siteId?: string; serial?: string } = {},
): Promise<SignedProductionRequest> {
  const current = forSite.certificates.require();
  const keyPair = await generateKeyPairAsync();
  const request = createProductionRequest({
    siteId: override.siteId ?? current.siteId,
    csrPem: createCsr(keyPair, { commonName: current.siteId }),
    devCertSerialHex: override.serial ?? current.certificate.serialHex,
  });
  return signProductionRequest(request, keyPem);
}

async function rejection(promise: Promise<unknown>): Promise<KeybridgeError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof KeybridgeError) return error;
    throw error;
  }
  throw new Error('expected the key service to refuse');
}

/** Straight to the key service with the agent's certificate; `password` null sends none. */
const post = (agent: TestAgent, body: SignedProductionRequest, password: string | null = PASSWORD) =>
  agent.client.call<{ status: string; environment?: string }>(
    'POST',
    '/ks/v1/site/production',
    password === null ? body : { ...body, password },
  );

beforeAll(async () => {
  server = await startTestKeyServer();
  started.push(server);
  siteA = await registeredAgent(server, 'site-a');
  siteB = await registeredAgent(server, 'site-b');
});

afterAll(async () => {
  for (const item of started.reverse()) await item.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('move to production: refused requests', () => {
  it("refuses a request signed by ANOTHER site's development key", async () => {
    const signed = await productionRequest(siteA, siteB.certificates.require().tls.keyPem);
    const error = await rejection(post(siteA, signed));
    expect(error.type).toBe('production-request-invalid');
    expect(error.field).toBe('signature');
    expect(siteA.certificates.require().environment).toBe('development');
  });

  it('refuses a request naming another serial (the other site’s certificate)', async () => {
    const signed = await productionRequest(siteA, siteA.certificates.require().tls.keyPem, {
      serial: siteB.certificates.require().certificate.serialHex,
    });
    const error = await rejection(post(siteA, signed));
    expect(error.type).toBe('production-request-invalid');
    expect(error.field).toBe('request.devCertSerialHex');
  });

  it('refuses a request naming a serial that was never issued', async () => {
    const signed = await productionRequest(siteA, siteA.certificates.require().tls.keyPem, { serial: '1234abcd' });
    expect((await rejection(post(siteA, signed))).type).toBe('production-request-invalid');
  });

  it('refuses a request naming another site id', async () => {
    const signed = await productionRequest(siteA, siteA.certificates.require().tls.keyPem, { siteId: siteB.certificates.require().siteId });
    const error = await rejection(post(siteA, signed));
    expect(error.type).toBe('production-request-invalid');
    expect(error.field).toBe('request.siteId');
  });

  it("refuses another site's own valid request presented with this site's certificate", async () => {
    // Site B signs a correct request for itself; site A's connection carries it.
    const signed = await productionRequest(siteB, siteB.certificates.require().tls.keyPem);
    expect((await rejection(post(siteA, signed))).type).toBe('production-request-invalid');
  });

  it('refuses a replayed request: the second POST of the same signed body is request-replayed', async () => {
    const site = await registeredAgent(server, 'site-replay');
    const signed = await productionRequest(site, site.certificates.require().tls.keyPem);
    const first = await post(site, signed);
    expect(first).toMatchObject({ status: 'issued', environment: 'production' });
    const error = await rejection(post(site, signed));
    expect(error.type).toBe('request-replayed');
  });

  it('refuses a production certificate asking to move again', async () => {
    const site = await registeredAgent(server, 'site-prod');
    const moved = await site.call('POST', '/v1/production', { password: PASSWORD });
    expect(moved.status, moved.text).toBe(200);
    expect(site.certificates.require().environment).toBe('production');
    // Straight to the key service, signed with the production key, over the production certificate.
    const signed = await productionRequest(site, site.certificates.require().tls.keyPem);
    const error = await rejection(post(site, signed));
    expect(error.type).toBe('certificate-forbidden');
    expect(error.detail).toMatch(/only a development certificate/);
  });

  it('the agent itself refuses to move a production site again', async () => {
    const site = await registeredAgent(server, 'site-prod-again');
    expect((await site.call('POST', '/v1/production', { password: PASSWORD })).status).toBe(200);
    const again = await site.call('POST', '/v1/production', { password: PASSWORD });
    expect(again.status).toBe(422);
    expect(again.json).toMatchObject({ type: 'invalid-field', field: 'environment' });
  });

  it('a refused request leaves the site working on its development certificate', async () => {
    const before = readFileSync(join(siteA.certDir, 'client.pem'));
    const signed = await productionRequest(siteA, siteB.certificates.require().tls.keyPem);
    await rejection(post(siteA, signed));
    expect(readFileSync(join(siteA.certDir, 'client.pem')).equals(before)).toBe(true);
    const keys = await siteA.call('GET', '/v1/keys');
    expect(keys.status, keys.text).toBe(200);
    expect(keys.json.environment).toBe('development');
  });
});

describe('approval policy', () => {
  let approval: TestKeyServer;

  beforeAll(async () => {
    approval = await startTestKeyServer({ productionPolicy: 'approval' });
    started.push(approval);
  });

  it('answers 202 pending and keeps the site in development until an operator approves', async () => {
    const site = await registeredAgent(approval, 'site-approval');
    const siteId = site.certificates.require().siteId;
    const before = readFileSync(join(site.certDir, 'client.pem'));

    const pending = await site.call('POST', '/v1/production', { password: PASSWORD });
    expect(pending.status, pending.text).toBe(202);
    expect(pending.json).toEqual({ status: 'pending' });
    expect(readFileSync(join(site.certDir, 'client.pem')).equals(before)).toBe(true);
    expect((await site.call('GET', '/v1/status')).json.environment).toBe('development');
    // Asking again while pending is harmless.
    expect((await site.call('POST', '/v1/production', { password: PASSWORD })).status).toBe(202);

    expect(await approval.authority.decideProduction(siteId, 'approved')).toBe(true);
    const issued = await site.call('POST', '/v1/production', { password: PASSWORD });
    expect(issued.status, issued.text).toBe(200);
    expect(issued.json).toMatchObject({ status: 'issued', environment: 'production', site_id: siteId });
    const status = await site.call('GET', '/v1/status');
    expect(status.json.environment).toBe('production');
    expect(status.json.rows.find((row: { id: string }) => row.id === 'certificate-valid').value).toContain('OU=production');
  });

  it('refuses a denied request with production-request-invalid, once: asking again is a new request', async () => {
    const site = await registeredAgent(approval, 'site-denied');
    const siteId = site.certificates.require().siteId;
    expect((await site.call('POST', '/v1/production', { password: PASSWORD })).status).toBe(202);
    expect(await approval.authority.decideProduction(siteId, 'denied')).toBe(true);
    const denied = await site.call('POST', '/v1/production', { password: PASSWORD });
    expect(denied.status, denied.text).toBe(403);
    expect(denied.json.type).toBe('production-request-invalid');
    expect(site.certificates.require().environment).toBe('development');
    expect((await site.call('POST', '/v1/production', { password: PASSWORD })).status).toBe(202);
    // Nothing pending is left to decide after a decision; the operator decides only what waits.
    expect(await approval.authority.decideProduction(siteId, 'approved')).toBe(true);
    expect(await approval.authority.decideProduction(siteId, 'approved')).toBe(false);
  });

  it('approves ONE request, not the site: the next production host waits for its own approval', async () => {
    const first = await registeredAgent(approval, 'site-per-request');
    const siteId = first.certificates.require().siteId;
    // A second host of the same site, copied before the first one moved.
    cpSync(first.certDir, join(work, 'site-per-request-2', 'certs'), { recursive: true });
    const second = await startTestAgent(approval, { certDir: join(work, 'site-per-request-2', 'certs') });
    started.push(second);

    expect((await first.call('POST', '/v1/production', { password: PASSWORD })).status).toBe(202);
    expect(await approval.authority.decideProduction(siteId, 'approved')).toBe(true);
    expect((await first.call('POST', '/v1/production', { password: PASSWORD })).status).toBe(200);
    // The approval was spent by that certificate: the same site asking again waits again.
    const next = await second.call('POST', '/v1/production', { password: PASSWORD });
    expect(next.status, next.text).toBe(202);
    expect(second.certificates.require().environment).toBe('development');
    expect(await approval.authority.decideProduction(siteId, 'approved')).toBe(true);
    expect((await second.call('POST', '/v1/production', { password: PASSWORD })).status).toBe(200);
    const origins = (await approval.authority.certificates(siteId)).map((c) => `${c.environment}:${c.origin}`).sort();
    expect(origins).toEqual(['development:registration', 'production:production', 'production:production']);
  });

  it('records no request without the password: the operator is never asked on behalf of a copy', async () => {
    const site = await registeredAgent(approval, 'site-no-password');
    const siteId = site.certificates.require().siteId;
    const wrong = await site.call('POST', '/v1/production', { password: 'not the password at all' });
    expect(wrong.status, wrong.text).toBe(401);
    expect(wrong.json.type).toBe('credentials-invalid');
    const missing = await site.call('POST', '/v1/production', {});
    expect(missing.status, missing.text).toBe(422);
    expect(missing.json).toMatchObject({ type: 'invalid-field', field: 'password' });
    const signed = await productionRequest(site, site.certificates.require().tls.keyPem);
    expect((await rejection(post(site, signed, null))).type).toBe('credentials-invalid');
    expect(await approval.authority.decideProduction(siteId, 'approved')).toBe(false);
  });
});
