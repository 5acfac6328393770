import type { Agent } from 'node:https';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerRaw, rawRequest, tlsAgent, type ClientMaterial, type RawResponse } from '../../../test-helpers/mtls.ts';
import { startTestKeyServer, type TestKeyServer } from '../../../test-helpers/keyservice.ts';
import { createCertificateAuthority, inspectCertificate, type CertificateAuthority } from '../../pki/index.ts';
import { clientCert, DAY, HOUR, selfSignedCert } from '../../../test-helpers/pki-fixtures.ts';
import { openSoftwareRootKey } from '../../sealing/software.ts';
import { loadOrCreateCa } from '../ca-store.ts';

/**
 * The key service's mutual-TLS front door, spoken to with node:https directly: every
 * request under /ks/v1/site is checked against the client certificate of its connection,
 * and a refusal is a 401 problem that says why — never a TLS alert or a hang.
 */
let server: TestKeyServer;
let ca: CertificateAuthority;
let site: { siteId: string; client: ClientMaterial; serial: string };
const agents: Agent[] = [];

function agentFor(client: ClientMaterial = {}, keepAlive = false): Agent {
  const agent = tlsAgent(server.caCertPem, client, keepAlive);
  agents.push(agent);
  return agent;
}

async function whoami(client: ClientMaterial = {}, agent = agentFor(client)): Promise<RawResponse> {
  return rawRequest(server.url, 'GET', '/ks/v1/site/whoami', { agent });
}

async function list(client: ClientMaterial = {}, agent = agentFor(client)): Promise<RawResponse> {
  return rawRequest(server.url, 'POST', '/ks/v1/site/secrets/list', { agent, body: {} });
}

function expectProblem(response: RawResponse, type: string, status = 401): void {
  expect(response.status, response.text).toBe(status);
  expect(response.json.type).toBe(type);
}

beforeAll(async () => {
  server = await startTestKeyServer();
  // The test key server seals its CA key with the software key in its home (test-helpers/keyservice.ts).
  ca = await loadOrCreateCa(server.home, await openSoftwareRootKey(join(server.home, 'root.key')));
  const registered = await registerRaw(server, { email: 'owner@example.com', password: 'a long enough password', siteName: 'Shop' });
  expect(registered.response.status, registered.response.text).toBe(200);
  const json = registered.response.json;
  site = { siteId: json.site_id, serial: json.serial, client: { keyPem: registered.keyPair.privateKeyPem, certPem: json.certificate } };
});

afterAll(async () => {
  for (const agent of agents) agent.destroy();
  await server?.stop();
});

describe('a valid registered certificate', () => {
  it('is answered by whoami with its site id, environment and serial', async () => {
    const response = await whoami(site.client);
    expect(response.status, response.text).toBe(200);
    expect(response.json).toEqual({ site_id: site.siteId, environment: 'development', serial: site.serial });
  });

  it('lists the (empty) secrets of its vault', async () => {
    const response = await list(site.client);
    expect(response.status, response.text).toBe(200);
    expect(response.json).toEqual({ secrets: [] });
  });
});

describe('refused certificates', () => {
  it('no client certificate: 401 certificate-invalid on whoami', async () => {
    const response = await whoami();
    expectProblem(response, 'certificate-invalid');
    expect(response.json.detail).toMatch(/no client certificate/);
  });

  it('no client certificate: 401 certificate-invalid on secrets/list', async () => {
    expectProblem(await list(), 'certificate-invalid');
  });

  it('an expired certificate of our CA: 401 certificate-invalid, detail expired', async () => {
    const expired = clientCert(ca, {
      siteId: site.siteId,
      notBefore: new Date(Date.now() - 30 * DAY),
      notAfter: new Date(Date.now() - DAY),
    });
    const response = await whoami({ keyPem: expired.keyPair.privateKeyPem, certPem: expired.certPem });
    expectProblem(response, 'certificate-invalid');
    expect(response.json.detail).toBe('expired');
  });

  it('a certificate just past its end, beyond the 5-minute skew: detail expired', async () => {
    const expired = clientCert(ca, {
      siteId: site.siteId,
      notBefore: new Date(Date.now() - DAY),
      notAfter: new Date(Date.now() - 6 * 60_000),
    });
    const response = await list({ keyPem: expired.keyPair.privateKeyPem, certPem: expired.certPem });
    expectProblem(response, 'certificate-invalid');
    expect(response.json.detail).toBe('expired');
  });

  it('a not-yet-valid certificate, beyond the 5-minute skew: detail not-yet-valid', async () => {
    const early = clientCert(ca, {
      siteId: site.siteId,
      notBefore: new Date(Date.now() + 6 * 60_000),
      notAfter: new Date(Date.now() + 30 * DAY),
    });
    const response = await whoami({ keyPem: early.keyPair.privateKeyPem, certPem: early.certPem });
    expectProblem(response, 'certificate-invalid');
    expect(response.json.detail).toBe('not-yet-valid');
  });

  it('a certificate from another CA (same subject): detail wrong-issuer', async () => {
    const other = createCertificateAuthority({ commonName: 'keybridge key service CA', validityDays: 365 });
    const foreign = clientCert(other, { siteId: site.siteId });
    const response = await whoami({ keyPem: foreign.keyPair.privateKeyPem, certPem: foreign.certPem });
    expectProblem(response, 'certificate-invalid');
    expect(response.json.detail).toBe('wrong-issuer');
  });

  it('a self-signed certificate naming the site: detail self-signed', async () => {
    const forged = selfSignedCert({ commonName: site.siteId, organizationalUnit: 'development' });
    const response = await list({ keyPem: forged.keyPair.privateKeyPem, certPem: forged.certPem });
    expectProblem(response, 'certificate-invalid');
    expect(response.json.detail).toBe('self-signed');
  });

  it('a certificate our CA signed but never recorded: detail says it was not issued here', async () => {
    const unrecorded = clientCert(ca, { siteId: site.siteId, notBefore: new Date(Date.now() - HOUR) });
    const response = await whoami({ keyPem: unrecorded.keyPair.privateKeyPem, certPem: unrecorded.certPem });
    expectProblem(response, 'certificate-invalid');
    expect(response.json.detail).toMatch(/not issued to a site of this key service/);
  });

  it('a recorded serial re-issued with another subject (production OU): refused', async () => {
    // Same serial as the site's real certificate, but OU=production: the record says development.
    const twin = clientCert(ca, { siteId: site.siteId, environment: 'production', serialHex: site.serial });
    const response = await whoami({ keyPem: twin.keyPair.privateKeyPem, certPem: twin.certPem });
    expectProblem(response, 'certificate-invalid');
    expect(response.json.detail).toMatch(/subject does not match/);
  });

  it('answers every refusal with problem+json and no-store', async () => {
    const agent = agentFor();
    const response = await rawRequest(server.url, 'GET', '/ks/v1/site/whoami', { agent });
    expect(response.status).toBe(401);
    expect(response.json).toMatchObject({ type: 'certificate-invalid', status: 401 });
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(response.headers['cache-control']).toBe('no-store');
  });
});

describe('revocation', () => {
  it('refuses a revoked certificate with certificate-revoked', async () => {
    const other = await registerRaw(server, { email: 'revoked@example.com', siteName: 'Gone' });
    const client = { keyPem: other.keyPair.privateKeyPem, certPem: other.response.json.certificate };
    expect((await whoami(client)).status).toBe(200);
    expect(await server.authority.revokeAsOperator(other.response.json.serial, 'stolen')).toEqual([other.response.json.serial]);
    expectProblem(await whoami(client), 'certificate-revoked');
    expectProblem(await list(client), 'certificate-revoked');
  });

  it('refuses it on an ALREADY OPEN keep-alive connection', async () => {
    const other = await registerRaw(server, { email: 'keepalive@example.com', siteName: 'Kept' });
    const client = { keyPem: other.keyPair.privateKeyPem, certPem: other.response.json.certificate };
    const agent = agentFor(client, true);
    const first = await list(client, agent);
    expect(first.status, first.text).toBe(200);
    expect(first.reusedSocket).toBe(false);

    expect(await server.authority.revokeAsOperator(other.response.json.serial, 'stolen')).toEqual([other.response.json.serial]);
    const second = await list(client, agent);
    // The same TLS connection (no new handshake): the check runs per request, not per handshake.
    expect(second.reusedSocket).toBe(true);
    expect(second.localPort).toBe(first.localPort);
    expectProblem(second, 'certificate-revoked');
    const third = await whoami(client, agent);
    expectProblem(third, 'certificate-revoked');
  });

  it('leaves the other certificates of the key service working', async () => {
    expect((await whoami(site.client)).status).toBe(200);
  });
});

describe('the issued certificate', () => {
  it('is a development certificate whose CN is the site id, from the key service CA', () => {
    const info = inspectCertificate(site.client.certPem!);
    expect(info.subject).toMatchObject({ commonName: site.siteId, organizationalUnit: 'development' });
    expect(info.issuer.commonName).toBe(inspectCertificate(server.caCertPem).subject.commonName);
    expect(info.notBefore.getTime()).toBeLessThan(Date.now());
  });
});
