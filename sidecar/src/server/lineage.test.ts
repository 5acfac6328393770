import type { Agent } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestKeyServer, type TestKeyServer } from '../../test-helpers/keyservice.ts';
import { rawRequest, registerRaw, tlsAgent, type ClientMaterial, type RawResponse } from '../../test-helpers/mtls.ts';
import { createCsr, createProductionRequest, generateKeyPairAsync, signProductionRequest } from '../pki/index.ts';
import type { CertificateRecord } from '../storage/registry-types.ts';

/**
 * The lineage rules over mutual TLS with the key service's clock moved by the test: a
 * renewal's predecessor keeps working through the overlap and is refused after it (also as a
 * parent), and "last seen" is written at most once a minute per certificate, never per request.
 */
let server: TestKeyServer;
let offsetMs = 0;
const agents: Agent[] = [];
const MINUTE = 60_000;

beforeAll(async () => {
  server = await startTestKeyServer({ now: () => new Date(Date.now() + offsetMs) });
});

afterAll(async () => {
  for (const agent of agents) agent.destroy();
  await server?.stop();
});

async function registered(name: string): Promise<{ siteId: string; client: ClientMaterial; serial: string }> {
  const { response, keyPair } = await registerRaw(server, { email: `${name}@example.com`, siteName: name });
  expect(response.status, response.text).toBe(200);
  return {
    siteId: response.json.site_id,
    serial: response.json.serial,
    client: { keyPem: keyPair.privateKeyPem, certPem: response.json.certificate },
  };
}

function call(client: ClientMaterial, method: string, path: string, body?: unknown): Promise<RawResponse> {
  const agent = tlsAgent(server.caCertPem, client);
  agents.push(agent);
  return rawRequest(server.url, method, path, { agent, body });
}

async function certificate(serial: string): Promise<CertificateRecord | null> {
  const stores = await server.openStores();
  try {
    return await stores.registry.getCertificate(serial);
  } finally {
    await stores.close();
  }
}

describe('renewal', () => {
  it("supersedes its predecessor after a 5-minute overlap: refused from then on, also as a renewal's parent", async () => {
    offsetMs = 0;
    const site = await registered('overlap');
    const keyPair = await generateKeyPairAsync();
    const renewed = await call(site.client, 'POST', '/ks/v1/site/certificates/renew', { csr: createCsr(keyPair, { commonName: 'x' }) });
    expect(renewed.status, renewed.text).toBe(200);
    const next = { keyPem: keyPair.privateKeyPem, certPem: renewed.json.certificate };
    expect(await certificate(renewed.json.serial)).toMatchObject({ origin: 'renewal', parentSerial: site.serial });

    // Inside the overlap (a rename in flight, a request already on its way): both work.
    offsetMs = 4 * MINUTE;
    expect((await call(site.client, 'GET', '/ks/v1/site/whoami')).status).toBe(200);
    expect((await call(next, 'GET', '/ks/v1/site/whoami')).status).toBe(200);

    offsetMs = 6 * MINUTE;
    const old = await call(site.client, 'GET', '/ks/v1/site/whoami');
    expect(old.status, old.text).toBe(401);
    expect(old.json).toMatchObject({ type: 'certificate-revoked', detail: expect.stringMatching(/a renewal replaced this certificate/) });
    const again = await call(site.client, 'POST', '/ks/v1/site/certificates/renew', { csr: createCsr(keyPair, { commonName: 'x' }) });
    expect(again.json.type).toBe('certificate-revoked');
    expect((await call(next, 'POST', '/ks/v1/site/secrets/list', {})).status).toBe(200);
    const record = await certificate(site.serial);
    expect(record?.supersededAt).not.toBeNull();
    expect(record?.revokedAt).toBeNull();
  });

  it('names a changed subject a custom certificate', async () => {
    offsetMs = 0;
    const site = await registered('custom-origin');
    const keyPair = await generateKeyPairAsync();
    const csr = createCsr(keyPair, { commonName: 'x', country: 'NL', organization: 'Example BV' });
    const custom = await call(site.client, 'POST', '/ks/v1/site/certificates/renew', { csr });
    expect(custom.status, custom.text).toBe(200);
    expect(await certificate(custom.json.serial)).toMatchObject({ origin: 'custom', parentSerial: site.serial });
  });
});

describe('production hosts', () => {
  it('come from a production certificate signing for the new host, which keeps working itself', async () => {
    offsetMs = 0;
    const password = 'the production owner';
    const { response, keyPair } = await registerRaw(server, { email: 'hosts@example.com', password, siteName: 'hosts' });
    expect(response.status, response.text).toBe(200);
    const dev = { keyPem: keyPair.privateKeyPem, certPem: response.json.certificate };
    const prodKey = await generateKeyPairAsync();
    const request = createProductionRequest({
      siteId: response.json.site_id,
      csrPem: createCsr(prodKey, { commonName: 'x' }),
      devCertSerialHex: response.json.serial,
    });
    const moved = await call(dev, 'POST', '/ks/v1/site/production', { ...signProductionRequest(request, keyPair.privateKeyPem), password });
    expect(moved.status, moved.text).toBe(200);
    const production = { keyPem: prodKey.privateKeyPem, certPem: moved.json.certificate };

    const hostKey = await generateKeyPairAsync();
    const host = await call(production, 'POST', '/ks/v1/site/certificates/host', { csr: createCsr(hostKey, { commonName: 'x' }) });
    expect(host.status, host.text).toBe(200);
    expect(host.json.environment).toBe('production');
    expect(await certificate(host.json.serial)).toMatchObject({ origin: 'production-host', parentSerial: moved.json.serial });
    offsetMs = 10 * MINUTE; // no overlap to run out: the signing host is not replaced
    expect((await call(production, 'GET', '/ks/v1/site/whoami')).status).toBe(200);
    expect((await call({ keyPem: hostKey.privateKeyPem, certPem: host.json.certificate }, 'GET', '/ks/v1/site/whoami')).json).toMatchObject(
      {
        environment: 'production',
        serial: host.json.serial,
      },
    );
    // A development certificate never signs for a production host.
    const refused = await call(dev, 'POST', '/ks/v1/site/certificates/host', { csr: createCsr(hostKey, { commonName: 'x' }) });
    expect(refused.status, refused.text).toBe(403);
    expect(refused.json.type).toBe('certificate-forbidden');
  });
});

describe('last seen', () => {
  it('is written at most once a minute per certificate, never a write per request', async () => {
    offsetMs = 0;
    const site = await registered('seen');
    const agent = tlsAgent(server.caCertPem, site.client, true);
    agents.push(agent);
    const first = Date.now() + offsetMs;
    for (let i = 0; i < 30; i++) {
      offsetMs += 1000; // each request a second later, half a minute in all
      expect((await rawRequest(server.url, 'POST', '/ks/v1/site/secrets/list', { agent, body: {} })).status).toBe(200);
    }
    await new Promise((resolve) => setTimeout(resolve, 200)); // the write is not awaited by the request
    const seen = Date.parse((await certificate(site.serial))!.lastSeenAt!);
    // The first request's time (within the second it took), not the last one's.
    expect(seen - first).toBeGreaterThanOrEqual(0);
    expect(seen - first).toBeLessThan(5000);

    offsetMs += MINUTE;
    expect((await rawRequest(server.url, 'POST', '/ks/v1/site/secrets/list', { agent, body: {} })).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(Date.parse((await certificate(site.serial))!.lastSeenAt!)).toBeGreaterThan(seen + MINUTE);
  });
});
