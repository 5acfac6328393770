import forge from 'node-forge';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerRaw, rawRequest, tlsAgent, type RawResponse } from '../../../test-helpers/mtls.ts';
import { startTestKeyServer, type TestKeyServer } from '../../../test-helpers/keyservice.ts';
import { createCsr, createProductionRequest, generateKeyPairAsync, inspectCertificate, signProductionRequest } from '../../pki/index.ts';
import { signWithNode, toLf } from '../../pki/forge-bridge.ts';
import { KEYSERVICE_MAX_BODY_BYTES } from './app.ts';

/**
 * POST /ks/v1/register (the one site call without a client certificate) and the clock
 * skew the key service tolerates, over real loopback TLS with node:https.
 */
let server: TestKeyServer;
const EMAIL = 'account@example.com';
const PASSWORD = 'correct horse battery staple';
let first: { siteId: string; certificate: string };

function expectProblem(response: RawResponse, type: string, status: number): void {
  expect(response.status, response.text).toBe(status);
  expect(response.json.type).toBe(type);
}

beforeAll(async () => {
  server = await startTestKeyServer();
  // The CSR claims production and another site: the CA must ignore both claims.
  const registered = await registerRaw(server, {
    email: EMAIL,
    password: PASSWORD,
    siteName: 'First',
    subject: { commonName: 'someone-else', organizationalUnit: 'production', organization: 'Example BV' },
  });
  expect(registered.response.status, registered.response.text).toBe(200);
  first = { siteId: registered.response.json.site_id, certificate: registered.response.json.certificate };
});

afterAll(async () => {
  await server?.stop();
});

describe('registration', () => {
  it('issues a development certificate for the new site id whatever the CSR subject claims', () => {
    const info = inspectCertificate(first.certificate);
    expect(first.siteId).toMatch(/^[A-Za-z0-9_-]{8,64}$/);
    expect(info.subject.organizationalUnit).toBe('development');
    expect(info.subject.commonName).toBe(first.siteId);
    expect(info.subject.commonName).not.toBe('someone-else');
    // What the owner may choose (organisation, place) is kept.
    expect(info.subject.organization).toBe('Example BV');
  });

  it('refuses a second registration with the same email and no password: 409 account-exists', async () => {
    const { response } = await registerRaw(server, { email: EMAIL, siteName: 'Second' });
    expectProblem(response, 'account-exists', 409);
  });

  it('matches the email case-insensitively: 409 account-exists', async () => {
    const { response } = await registerRaw(server, { email: '  Account@EXAMPLE.com ', siteName: 'Second' });
    expectProblem(response, 'account-exists', 409);
  });

  it('refuses a wrong password: 401 credentials-invalid', async () => {
    const { response } = await registerRaw(server, { email: EMAIL, password: 'not the password', siteName: 'Second' });
    expectProblem(response, 'credentials-invalid', 401);
  });

  it('adds a second site under the same account with the right password', async () => {
    const { response } = await registerRaw(server, { email: EMAIL, password: PASSWORD, siteName: 'Second' });
    expect(response.status, response.text).toBe(200);
    expect(response.json.account_email).toBe(EMAIL);
    expect(response.json.environment).toBe('development');
    expect(response.json.site_id).not.toBe(first.siteId);
    const stores = await server.openStores();
    try {
      const [one, two] = await Promise.all([stores.registry.getSite(first.siteId), stores.registry.getSite(response.json.site_id)]);
      expect(one?.accountId).toBeTruthy();
      expect(two?.accountId).toBe(one?.accountId);
      expect(two?.name).toBe('Second');
    } finally {
      await stores.close();
    }
  });

  it('refuses a malformed CSR: csr-invalid', async () => {
    const { response } = await registerRaw(server, {
      email: 'csr@example.com',
      siteName: 'Bad CSR',
      csr: '-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n',
    });
    expectProblem(response, 'csr-invalid', 422);
  });

  it('refuses a CSR that is not PEM at all: csr-invalid', async () => {
    const { response } = await registerRaw(server, { email: 'csr@example.com', siteName: 'Bad CSR', csr: 'hello' });
    expectProblem(response, 'csr-invalid', 422);
  });

  it('refuses a CSR whose signature does not match its key: csr-invalid', async () => {
    const mine = await generateKeyPairAsync();
    const theirs = await generateKeyPairAsync();
    // The public key of one pair, signed by the other: no proof of possession.
    const csr = createCsr({ publicKeyPem: mine.publicKeyPem, privateKeyPem: theirs.privateKeyPem }, { commonName: 'x' });
    const { response } = await registerRaw(server, { email: 'csr@example.com', siteName: 'Bad CSR', csr });
    expectProblem(response, 'csr-invalid', 422);
  });

  it('refuses a CSR whose subject the CA cannot write (O with a comma, as openssl allows) and creates no account', async () => {
    // What `openssl req -subj "/O=Example, Inc./CN=www.example.com"` makes: fine for openssl, not for our subjects.
    const keyPair = await generateKeyPairAsync();
    const request = forge.pki.createCertificationRequest();
    request.publicKey = forge.pki.publicKeyFromPem(keyPair.publicKeyPem);
    request.setSubject([
      { shortName: 'O', value: 'Example, Inc.' },
      { shortName: 'CN', value: 'www.example.com' },
    ]);
    signWithNode(request, keyPair.privateKeyPem);
    const { response } = await registerRaw(server, {
      email: 'comma@example.com',
      siteName: 'Comma',
      csr: toLf(forge.pki.certificationRequestToPem(request)),
    });
    expectProblem(response, 'csr-invalid', 422);
    // Nothing was created: the same email registers afterwards, without a password, as a new account.
    const retry = await registerRaw(server, { email: 'comma@example.com', siteName: 'Comma' });
    expect(retry.response.status, retry.response.text).toBe(200);
  });

  it('refuses a bad email: invalid-field naming email', async () => {
    const { response } = await registerRaw(server, { email: 'not an email', siteName: 'Bad email' });
    expectProblem(response, 'invalid-field', 422);
    expect(response.json.field).toBe('email');
  });

  it('refuses a missing email: invalid-field naming email', async () => {
    const { response } = await registerRaw(server, { email: undefined, siteName: 'No email' });
    expectProblem(response, 'invalid-field', 422);
    expect(response.json.field).toBe('email');
  });

  it('refuses an unknown field: invalid-field naming it', async () => {
    const agent = tlsAgent(server.caCertPem);
    try {
      const response = await rawRequest(server.url, 'POST', '/ks/v1/register', {
        agent,
        body: { email: 'x@example.com', site_name: 'x', csr: 'x', environment: 'production' },
      });
      expectProblem(response, 'invalid-field', 422);
      expect(response.json.field).toBe('environment');
    } finally {
      agent.destroy();
    }
  });

  it('refuses an oversized body: 413 body-too-large', async () => {
    const agent = tlsAgent(server.caCertPem);
    try {
      const rawBody = Buffer.from(
        JSON.stringify({ email: 'big@example.com', site_name: 'x', csr: 'A'.repeat(KEYSERVICE_MAX_BODY_BYTES + 1024) }),
      );
      const response = await rawRequest(server.url, 'POST', '/ks/v1/register', { agent, rawBody });
      expectProblem(response, 'body-too-large', 413);
    } finally {
      agent.destroy();
    }
  });

  it('created nothing for the refused registrations', async () => {
    const stores = await server.openStores();
    try {
      expect(await stores.registry.findAccountByEmail('csr@example.com')).toBeNull();
      expect(await stores.registry.findAccountByEmail('big@example.com')).toBeNull();
    } finally {
      await stores.close();
    }
  });
});

describe('clock skew', () => {
  const SKEW_MS = 3 * 60_000;

  it('a key server whose clock runs 3 minutes behind accepts the certificate it issued', async () => {
    const lagging = await startTestKeyServer({ now: () => new Date(Date.now() - SKEW_MS) });
    const agent = tlsAgent(lagging.caCertPem);
    try {
      const registered = await registerRaw(lagging, { email: 'lag@example.com', password: PASSWORD, siteName: 'Lagging' });
      expect(registered.response.status, registered.response.text).toBe(200);
      const client = tlsAgent(lagging.caCertPem, {
        keyPem: registered.keyPair.privateKeyPem,
        certPem: registered.response.json.certificate,
      });
      try {
        const response = await rawRequest(lagging.url, 'GET', '/ks/v1/site/whoami', { agent: client });
        expect(response.status, response.text).toBe(200);
        expect(response.json.site_id).toBe(registered.response.json.site_id);

        // An agent on real time signs a production request that is 3 minutes "in the future" here.
        const keyPair = await generateKeyPairAsync();
        const request = createProductionRequest({
          siteId: registered.response.json.site_id,
          csrPem: createCsr(keyPair, { commonName: 'x' }),
          devCertSerialHex: registered.response.json.serial,
        });
        const signed = signProductionRequest(request, registered.keyPair.privateKeyPem);
        const moved = await rawRequest(lagging.url, 'POST', '/ks/v1/site/production', {
          agent: client,
          body: { ...signed, password: PASSWORD },
        });
        expect(moved.status, moved.text).toBe(200);
        expect(moved.json.environment).toBe('production');
      } finally {
        client.destroy();
      }
    } finally {
      agent.destroy();
      await lagging.stop();
    }
  });

  it('accepts a production request issued 3 minutes in the future', async () => {
    const registered = await registerRaw(server, { email: 'future@example.com', password: PASSWORD, siteName: 'Future' });
    const json = registered.response.json;
    const client = tlsAgent(server.caCertPem, { keyPem: registered.keyPair.privateKeyPem, certPem: json.certificate });
    try {
      const keyPair = await generateKeyPairAsync();
      const request = createProductionRequest({
        siteId: json.site_id,
        csrPem: createCsr(keyPair, { commonName: json.site_id }),
        devCertSerialHex: json.serial,
        now: new Date(Date.now() + SKEW_MS),
      });
      const signed = signProductionRequest(request, registered.keyPair.privateKeyPem);
      const moved = await rawRequest(server.url, 'POST', '/ks/v1/site/production', {
        agent: client,
        body: { ...signed, password: PASSWORD },
      });
      expect(moved.status, moved.text).toBe(200);
      const info = inspectCertificate(moved.json.certificate);
      expect(info.subject).toMatchObject({ commonName: json.site_id, organizationalUnit: 'production' });
      expect(info.publicKeyPem).toBe(keyPair.publicKeyPem);
    } finally {
      client.destroy();
    }
  });

  it('refuses a production request issued 10 minutes in the future', async () => {
    const registered = await registerRaw(server, { email: 'far-future@example.com', password: PASSWORD, siteName: 'Far' });
    const json = registered.response.json;
    const client = tlsAgent(server.caCertPem, { keyPem: registered.keyPair.privateKeyPem, certPem: json.certificate });
    try {
      const keyPair = await generateKeyPairAsync();
      const request = createProductionRequest({
        siteId: json.site_id,
        csrPem: createCsr(keyPair, { commonName: json.site_id }),
        devCertSerialHex: json.serial,
        now: new Date(Date.now() + 10 * 60_000),
      });
      const moved = await rawRequest(server.url, 'POST', '/ks/v1/site/production', {
        agent: client,
        body: { ...signProductionRequest(request, registered.keyPair.privateKeyPem), password: PASSWORD },
      });
      expectProblem(moved, 'production-request-invalid', 403);
      expect(moved.json.field).toBe('request.issuedAt');
    } finally {
      client.destroy();
    }
  });
});
