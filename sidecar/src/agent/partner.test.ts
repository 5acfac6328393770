import { mkdtempSync, readdirSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestAgent, startTestKeyServer, type TestAgent, type TestKeyServer } from '../../test-helpers/keyservice.ts';
import { agentCaller, type ApiResponse } from '../../test-helpers/agent-caller.ts';
import { writeFileAtomic } from '../files.ts';
import { createCsr, createProductionRequest, generateKeyPairAsync, inspectCertificate, signProductionRequest } from '../pki/index.ts';
import { PARTNERS } from '../protocol/partners.ts';
import { createAgent, DEFAULT_CACHE, type Agent } from './agent.ts';
import { CertificateStore } from './certs/store.ts';
import { HttpsKeyServiceClient } from './keyservice/https-client.ts';
import { listen } from './http/listen.ts';

/**
 * The partner flow end to end (DESIGN.md, "Environments, partners, regions"): the key
 * service's operator issues Pantheon's certificates (live: production, the rest development)
 * into a binding.pem; agents on the platform read that file, never write it, register with
 * an email only over mutual TLS with it, and write nothing but site.json.
 *
 * startTestAgent has no partner option, so partner agents are composed here the way
 * roles/agent.ts composes them (CertificateStore with the binding, clientTls for TLS).
 */
const work = mkdtempSync(join(tmpdir(), 'kb-partner-'));
let server: TestKeyServer;
const agents: { stop(): Promise<void> }[] = [];

interface PartnerAgent extends Agent {
  certDir: string;
  certFile: string;
  client: HttpsKeyServiceClient;
  call(method: string, path: string, body?: unknown): Promise<ApiResponse>;
}

/** The operator's side, as `keybridge server partner issue` does it: key + certificate in one 0600 file. */
async function issueBinding(name: string, platformEnvironment: string, siteId?: string): Promise<{ file: string; siteId: string }> {
  const issued = await server.authority.issuePartnerCertificate({
    partner: 'pantheon',
    platformEnvironment,
    siteName: siteId ? undefined : name,
    siteId,
  });
  const file = join(mkdtempSync(join(work, `${name}-`)), 'binding.pem');
  writeFileAtomic(file, `${issued.privateKeyPem.trim()}\n${issued.certificatePem.trim()}\n`, 0o600);
  return { file, siteId: issued.siteId };
}

async function startPartnerAgent(name: string, certFile: string, environment: string | null): Promise<PartnerAgent> {
  const certDir = join(work, name, 'certs');
  const caFile = join(work, `${name}-ca.pem`);
  writeFileAtomic(caFile, server.caCertPem);
  const certificates = new CertificateStore(certDir, { partner: { name: 'pantheon', environment, certFile }, caFile });
  const client = new HttpsKeyServiceClient({ urls: server.urls, tls: () => certificates.clientTls(), caCertPem: () => server.caCertPem });
  const token = 'P'.repeat(43);
  const agent = createAgent({ client, certificates, token, region: 'eu', webroots: [], cache: DEFAULT_CACHE });
  const running = await listen(agent.frontEnds, { kind: 'tcp', host: '127.0.0.1', port: 0 });
  const caller = agentCaller(running.url, { token });

  agents.push({ stop: async () => (caller.close(), await running.close(), client.close()) });
  return { ...agent, certDir, certFile, client, call: caller.call };
}

const rowOf = (status: ApiResponse, id: string) => status.json.rows.find((r: { id: string }) => r.id === id);
const text = (json: { value_base64: string }) => Buffer.from(json.value_base64, 'base64').toString();

let live: PartnerAgent;
let liveBinding: Buffer;

beforeAll(async () => {
  server = await startTestKeyServer();
  const { file } = await issueBinding('live', 'live');
  liveBinding = readFileSync(file);
  live = await startPartnerAgent('live', file, 'live');
});

afterAll(async () => {
  for (const agent of agents) await agent.stop();
  await server?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('Pantheon live', () => {
  it('is a production certificate under the partner account, recorded like any other', async () => {
    const info = inspectCertificate(liveBinding.toString());
    expect(info.subject).toMatchObject({ organizationalUnit: 'production', organization: 'pantheon', locality: 'live' });
    const stores = await server.openStores();
    try {
      const site = await stores.registry.getSite(info.subject.commonName);
      expect(site).toMatchObject({ partner: 'pantheon', name: 'live' });
      const account = await stores.registry.findAccountByEmail(PARTNERS.pantheon.accountEmail);
      expect(account).toMatchObject({ accountId: site!.accountId, passwordHash: '!' });
      expect((await stores.registry.getCertificate(info.serialHex))?.environment).toBe('production');
    } finally {
      await stores.close();
    }
  });

  it('registers with an email only and writes only site.json', async () => {
    const registered = await live.call('POST', '/v1/register', { email: 'owner@example.com' });
    expect(registered.status, registered.text).toBe(200);
    expect(registered.json).toMatchObject({ environment: 'production', account_email: 'owner@example.com', path: live.certFile });
    expect(readdirSync(live.certDir)).toEqual(['site.json']);
    expect(registered.json.site_id).toBe(inspectCertificate(liveBinding.toString()).subject.commonName);
    const again = await live.call('POST', '/v1/register', { email: 'owner@example.com' });
    expect(again.json.type).toBe('already-registered');
  });

  it('sets and reads keys in the production vault', async () => {
    const set = await live.call('POST', '/v1/keys/set', { name: 'stripe/secret', value: 'sk_live_PANTHEON' });
    expect(set.status, set.text).toBe(200);
    const got = await live.call('POST', '/v1/keys/get', { name: 'stripe/secret', wrapping_key: set.json.wrapping_key });
    expect(text(got.json)).toBe('sk_live_PANTHEON');
    expect((await live.call('GET', '/v1/keys')).json).toMatchObject({ environment: 'production', keys: [{ name: 'stripe/secret' }] });
  });

  it('shows the platform environment, the email and the binding path in the status table', async () => {
    const status = await live.call('GET', '/v1/status');
    expect(status.json).toMatchObject({ environment: 'production', registered: true });
    expect(rowOf(status, 'environment')).toMatchObject({ severity: 'ok', value: 'production (Pantheon live)' });
    expect(rowOf(status, 'site-registered').value).toContain('owner@example.com');
    expect(rowOf(status, 'certificate-found')).toMatchObject({ severity: 'ok' });
    expect(rowOf(status, 'certificate-found').value).toContain(live.certFile);
  });

  it('refuses renewal, the move to production and a custom certificate: the platform issues them', async () => {
    for (const [path, body] of [
      ['/v1/certificates/renew', {}],
      ['/v1/production', {}],
      ['/v1/certificates/create', { country: 'NL', state: 'Noord-Holland', locality: 'Amsterdam', organization: 'Example BV' }],
    ] as const) {
      const refused = await live.call('POST', path, body);
      expect(refused.status, path).toBe(422);
      expect(refused.json).toMatchObject({ type: 'invalid-field', field: 'partner' });
      expect(refused.json.detail).toContain('the platform issues');
    }
    expect(await live.registrar.renewIfDue(new Date(Date.now() + 400 * 86_400_000))).toBe(false);
    // The key service refuses too, whoever asks with the platform's certificate.
    const csr = createCsr(await generateKeyPairAsync(), { commonName: 'anything' });
    await expect(live.client.call('POST', '/ks/v1/site/certificates/renew', { csr })).rejects.toMatchObject({
      type: 'invalid-field',
      field: 'partner',
    });
    expect(readFileSync(live.certFile).equals(liveBinding)).toBe(true);
  });
});

describe('other Pantheon environments', () => {
  it('a dev certificate is development, and reads nothing of live', async () => {
    const { file } = await issueBinding('dev', 'dev');
    const dev = await startPartnerAgent('dev', file, 'dev');
    const registered = await dev.call('POST', '/v1/register', { email: 'dev-owner@example.com', site_name: 'ignored on a partner' });
    expect(registered.status, registered.text).toBe(200);
    expect(registered.json.environment).toBe('development');
    expect(rowOf(await dev.call('GET', '/v1/status'), 'environment')).toMatchObject({
      severity: 'ok',
      value: 'development (Pantheon dev)',
    });
    expect((await dev.call('GET', '/v1/keys')).json).toEqual({ environment: 'development', keys: [] });
    // A development certificate of a partner cannot promote itself at the key service either,
    // even with a correctly signed request (the agent refuses before sending one).
    const current = dev.certificates.require();
    const csrPem = createCsr(await generateKeyPairAsync(), { commonName: current.siteId });
    const signed = signProductionRequest(
      createProductionRequest({ siteId: current.siteId, csrPem, devCertSerialHex: current.certificate.serialHex }),
      current.tls.keyPem,
    );
    const refused = await dev.client.call('POST', '/ks/v1/site/production', signed).catch((error) => error);
    expect(refused).toMatchObject({ type: 'invalid-field', field: 'partner' });
  });

  it('turns the environment row red when the certificate does not fit the platform environment', async () => {
    const { file: devFile } = await issueBinding('mismatch-dev', 'dev');
    const liveWithDev = await startPartnerAgent('live-with-dev', devFile, 'live');
    expect((await liveWithDev.call('POST', '/v1/register', { email: 'owner@example.com', password: 'whatever it is' })).json.type).toBe(
      'credentials-invalid',
    );
    expect((await liveWithDev.call('POST', '/v1/register', { email: 'mismatch@example.com' })).status).toBe(200);
    const row = rowOf(await liveWithDev.call('GET', '/v1/status'), 'environment');
    expect(row.severity).toBe('error');
    expect(row.value).toBe('development (Pantheon live): live needs a production certificate');
    expect(row.help).toContain('Ask Pantheon for the right certificate');

    const { file: liveFile } = await issueBinding('mismatch-live', 'live');
    const testWithLive = await startPartnerAgent('test-with-live', liveFile, 'test');
    expect((await testWithLive.call('POST', '/v1/register', { email: 'mismatch2@example.com' })).status).toBe(200);
    expect(rowOf(await testWithLive.call('GET', '/v1/status'), 'environment')).toMatchObject({
      severity: 'error',
      value: 'production (Pantheon test): test needs a development certificate',
    });
  });

  it('a re-issued certificate for the same site keeps the site registered', async () => {
    const first = await issueBinding('reissue', 'test');
    const agent = await startPartnerAgent('reissue', first.file, 'test');
    expect((await agent.call('POST', '/v1/register', { email: 'reissue@example.com' })).status).toBe(200);
    const set = await agent.call('POST', '/v1/keys/set', { name: 'api', value: 'before' });
    const second = await server.authority.issuePartnerCertificate({
      partner: 'pantheon',
      platformEnvironment: 'test',
      siteId: first.siteId,
    });
    // The platform replaces its file; the agent notices it by the file's stamp.
    writeFileAtomic(first.file, `${second.privateKeyPem.trim()}\n${second.certificatePem.trim()}\n`, 0o600);
    expect(agent.certificates.require().certificate.serialHex).toBe(second.serialHex);
    const got = await agent.call('POST', '/v1/keys/get', { name: 'api', wrapping_key: set.json.wrapping_key });
    expect(text(got.json)).toBe('before');
  });
});

describe('partner registration', () => {
  let ordinary: TestAgent;
  beforeAll(async () => {
    ordinary = await startTestAgent(server, { certDir: join(work, 'ordinary', 'certs') });
    agents.push(ordinary);
    const registered = await ordinary.call('POST', '/v1/register', {
      email: 'taken@example.com',
      password: 'correct horse battery staple',
      site_name: 'Shop',
    });
    expect(registered.status, registered.text).toBe(200);
  });

  it('needs the password of an existing account, and writes nothing without it', async () => {
    const { file } = await issueBinding('existing', 'live');
    const before = readFileSync(file);
    const agent = await startPartnerAgent('existing', file, 'live');
    const refused = await agent.call('POST', '/v1/register', { email: 'Taken@Example.com' });
    expect(refused.status).toBe(409);
    expect(refused.json.type).toBe('account-exists');
    expect(existsSync(join(agent.certDir, 'site.json'))).toBe(false);
    expect((await agent.call('POST', '/v1/register', { email: 'taken@example.com', password: 'not the right password' })).json.type).toBe(
      'credentials-invalid',
    );
    expect((await agent.call('POST', '/v1/register', { email: PARTNERS.pantheon.accountEmail })).json.type).toBe('account-exists');
    const accepted = await agent.call('POST', '/v1/register', { email: 'taken@example.com', password: 'correct horse battery staple' });
    expect(accepted.status, accepted.text).toBe(200);
    expect(accepted.json.account_email).toBe('taken@example.com');
    expect(readdirSync(agent.certDir)).toEqual(['site.json']);
    expect(readFileSync(file).equals(before)).toBe(true);
  });

  it("is refused to a certificate that is not a partner platform's", async () => {
    const refused = await ordinary.client.call('POST', '/ks/v1/site/partner/register', { email: 'x@example.com' }).catch((error) => error);
    expect(refused).toMatchObject({ type: 'invalid-field', field: 'partner' });
  });

  it('reports a missing binding before registration, with what to do', async () => {
    const agent = await startPartnerAgent('missing', join(work, 'no-such', 'binding.pem'), 'live');
    const status = await agent.call('GET', '/v1/status');
    expect(rowOf(status, 'certificate-found')).toMatchObject({ severity: 'error', value: `none at ${agent.certFile}` });
    expect(rowOf(status, 'site-registered').help).not.toContain('--site-name');
    expect((await agent.call('POST', '/v1/register', { email: 'a@example.com' })).json).toMatchObject({
      type: 'config-invalid',
      field: 'partner.certFile',
    });
  });
});
