import type { Agent } from 'node:https';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestAgent, startTestKeyServer, type TestAgent, type TestKeyServer } from '../test-helpers/keyservice.ts';
import { rawRequest, tlsAgent, type RawResponse } from '../test-helpers/mtls.ts';
import { runCliAsync } from '../test-helpers/up-process.ts';
import { CertificateStore } from './agent/certs/store.ts';
import type { ClientTls } from './agent/keyservice/https-client.ts';
import { createCsr, createProductionRequest, generateKeyPairAsync, inspectCertificate, signProductionRequest } from './pki/index.ts';

/**
 * THE STOLEN HOST COPY, end to end (issue 13, findings 1–3): a thief copies a registered
 * site's certificate directory (and its database, so it holds the KEKs too), renews from the
 * copy, and tries to mint production. The owner moves to production, sets a value, and then
 * revokes — with `keybridge cert revoke`, or through the operator — and every certificate in
 * the thief's hands is refused at its next request, on fresh and on kept-alive connections.
 * The owner comes back with the account password only (`keybridge cert reissue`) and reads
 * every value again; the key service's lineage of the site lists all of it.
 *
 * Real parts: a key service (startTestKeyServer: SQLite + software key, or two nodes on
 * PostgreSQL + SoftHSM in pass 2) and agents over mutual TLS, the owner's `keybridge` CLI as
 * a process, and the thief's raw TLS connections made with node:https from the copied files.
 */
const PASSWORD = 'the owner knows this one';
const work = mkdtempSync(join(tmpdir(), 'kb-stolen-'));
const started: { stop(): Promise<void> }[] = [];
const connections: Agent[] = [];
let server: TestKeyServer;

beforeAll(async () => {
  server = await startTestKeyServer({ productionPolicy: 'approval' });
  started.push(server);
});

afterAll(async () => {
  for (const connection of connections) connection.destroy();
  for (const item of started.reverse()) await item.stop();
  rmSync(work, { recursive: true, force: true });
});

async function agentAt(name: string, from?: string): Promise<TestAgent> {
  const certDir = join(work, name, 'certs');
  if (from) cpSync(from, certDir, { recursive: true });
  const agent = await startTestAgent(server, { certDir });
  started.push(agent);
  return agent;
}

/** The key, certificate and CA a certificate directory holds, as a thief reads them. */
const tlsOf = (certDir: string): ClientTls => new CertificateStore(certDir).require().tls;
const serialOf = (tls: ClientTls) => inspectCertificate(tls.certPem).serialHex;

/** The owner's CLI, speaking to the owner's agent (a child process: the agent runs in this one). */
async function ownerCli(agent: TestAgent, args: string[]): Promise<string> {
  const tokenFile = join(agent.certDir, '..', 'agent.token');
  writeFileSync(tokenFile, `${agent.token}\n`, { mode: 0o600 });
  const result = await runCliAsync(args, { KEYBRIDGE_AGENT: agent.url, KEYBRIDGE_TOKEN_FILE: tokenFile });
  expect(result.status, result.stderr).toBe(0);
  return result.stdout;
}

/** One request to the key service with `tls`, on `connection` (kept alive) or a fresh one. */
async function asThief(tls: ClientTls, path: string, connection?: Agent, body: unknown = {}): Promise<RawResponse> {
  const agent = connection ?? tlsAgent(server.caCertPem, tls);
  try {
    return await rawRequest(server.url, 'POST', path, { agent, body });
  } finally {
    if (!connection) agent.destroy();
  }
}

function keptAlive(tls: ClientTls): Agent {
  const connection = tlsAgent(server.caCertPem, tls, true);
  connections.push(connection);
  return connection;
}

async function value(agent: TestAgent, name: string, kek: string): Promise<string> {
  const got = await agent.call('POST', '/v1/keys/get', { name, wrapping_key: kek });
  expect(got.status, got.text).toBe(200);
  return Buffer.from(got.json.value_base64, 'base64').toString();
}

/** What the thief tries for production, each refused without the password. */
async function expectNoProductionForThief(thief: TestAgent, stolen: ClientTls[]): Promise<void> {
  const none = await thief.call('POST', '/v1/production', {});
  expect(none.json).toMatchObject({ type: 'invalid-field', field: 'password' });
  const guessed = await thief.call('POST', '/v1/production', { password: 'a guess of the password' });
  expect(guessed.status, guessed.text).toBe(401);
  expect(guessed.json.type).toBe('credentials-invalid');
  for (const tls of stolen) {
    // Straight to the key service: a correctly signed request with each stolen key, no password.
    const keyPair = await generateKeyPairAsync();
    const request = createProductionRequest({
      siteId: inspectCertificate(tls.certPem).subject.commonName,
      csrPem: createCsr(keyPair, { commonName: 'x' }),
      devCertSerialHex: serialOf(tls),
    });
    const signed = signProductionRequest(request, tls.keyPem);
    const direct = await asThief(tls, '/ks/v1/site/production', undefined, signed);
    expect(direct.status, direct.text).toBe(401);
    expect(direct.json.type).toBe('credentials-invalid');
    // Nor may a development certificate sign for a "new production host".
    const host = await asThief(tls, '/ks/v1/site/certificates/host', undefined, { csr: createCsr(keyPair, { commonName: 'x' }) });
    expect(host.status, host.text).toBe(403);
    expect(host.json.type).toBe('certificate-forbidden');
  }
}

/**
 * The whole story up to the revocation; `revoke` is the owner's CLI or the operator. Returns
 * what the assertions after it need.
 */
async function stolenHostCopy(name: string, revoke: (owner: TestAgent) => Promise<void>): Promise<void> {
  // The owner registers and sets a development value; the CMS database keeps its KEK.
  const owner = await agentAt(`${name}-owner`);
  const registered = await owner.call('POST', '/v1/register', { email: `${name}@example.com`, password: PASSWORD, site_name: name });
  expect(registered.status, registered.text).toBe(200);
  const siteId = registered.json.site_id as string;
  const dev = await owner.call('POST', '/v1/keys/set', { name: 'shop/api', value: 'development secret' });
  const kek = dev.json.wrapping_key as string;

  // The thief copies the certificate directory (and the database, so the KEK), and renews twice.
  const thief = await agentAt(`${name}-thief`, owner.certDir);
  const original = tlsOf(thief.certDir);
  expect(await value(thief, 'shop/api', kek)).toBe('development secret');
  const renewed: ClientTls[] = [];
  for (let i = 0; i < 2; i++) {
    const renewal = await thief.call('POST', '/v1/certificates/renew', {});
    expect(renewal.status, renewal.text).toBe(200);
    renewed.push(tlsOf(thief.certDir));
  }
  const stolen = [original, ...renewed];

  // The owner moves a copy of its host to production (the operator approves that request) and sets a value.
  const production = await agentAt(`${name}-production`, owner.certDir);
  const asked = await ownerCli(production, ['production', '--password-file', passwordFile(), '--json']);
  expect(JSON.parse(asked)).toEqual({ status: 'pending' });
  expect(await server.authority.decideProduction(siteId, 'approved')).toBe(true);
  expect(JSON.parse(await ownerCli(production, ['production', '--password-file', passwordFile(), '--json']))).toMatchObject({
    status: 'issued',
    environment: 'production',
  });
  const prod = await production.call('POST', '/v1/keys/set', { name: 'shop/api', value: 'production secret', wrapping_key: kek });
  expect(prod.status, prod.text).toBe(200);

  // Refused at every step without the password, also with an operator approval spent and gone.
  await expectNoProductionForThief(thief, stolen);
  // A development certificate cannot revoke production, not even naming its serial.
  const productionSerial = production.certificates.require().certificate.serialHex;
  const cross = await asThief(renewed[1], '/ks/v1/site/certificates/revoke', undefined, { serial: productionSerial });
  expect(cross.status, cross.text).toBe(403);
  expect(cross.json.type).toBe('certificate-forbidden');
  expect(await value(production, 'shop/api', kek)).toBe('production secret');

  // Every stolen certificate works right now, each on a kept-alive connection.
  const kept = stolen.map(keptAlive);
  for (const [i, tls] of stolen.entries()) {
    const before = await asThief(tls, '/ks/v1/site/secrets/list', kept[i]);
    expect(before.status, before.text).toBe(200);
  }

  await revoke(owner);

  // Every certificate in the thief's hands is refused at its next request: kept-alive and fresh.
  for (const [i, tls] of stolen.entries()) {
    const reused = await asThief(tls, '/ks/v1/site/secrets/list', kept[i]);
    expect(reused.reusedSocket, `certificate ${i} kept its connection`).toBe(true);
    expect(reused.status, reused.text).toBe(401);
    expect(reused.json.type).toBe('certificate-revoked');
    const fresh = await asThief(tls, '/ks/v1/site/secrets/get', undefined, { keyIds: [] });
    expect(fresh.json.type, `certificate ${i} on a fresh connection`).toBe('certificate-revoked');
  }
  expect((await thief.call('POST', '/v1/keys/set', { name: 'x', value: 'y' })).json.type).toBe('certificate-revoked');
  // A revoked copy cannot come back without the password either.
  expect((await thief.call('POST', '/v1/certificates/reissue', { password: 'a guess of the password' })).json.type).toBe(
    'credentials-invalid',
  );
  expect((await thief.call('POST', '/v1/certificates/renew', {})).json.type).toBe('certificate-revoked');

  // The owner's host is revoked too, and says so; the password brings it back, and only it.
  const status = await owner.call('GET', '/v1/status');
  expect(status.json.rows.find((row: { id: string }) => row.id === 'certificate-valid')).toMatchObject({
    severity: 'error',
    value: expect.stringContaining('revoked by the key service'),
  });
  const reissued = JSON.parse(await ownerCli(owner, ['cert', 'reissue', '--password-file', passwordFile(), '--json']));
  expect(reissued).toMatchObject({ site_id: siteId, environment: 'development' });
  expect(await value(owner, 'shop/api', kek)).toBe('development secret');
  expect(await value(production, 'shop/api', kek)).toBe('production secret');
  for (const tls of stolen) expect((await asThief(tls, '/ks/v1/site/secrets/list')).json.type).toBe('certificate-revoked');

  // The lineage lists all of it: who asked for what, and what is revoked.
  const details = await server.authority.siteDetails(siteId);
  const bySerial = new Map(details!.certificates.map((c) => [c.serialHex, c]));
  const [s0, t1, t2] = stolen.map(serialOf);
  expect(bySerial.get(s0)).toMatchObject({ origin: 'registration', parentSerial: null, revokedAt: expect.any(String) });
  expect(bySerial.get(s0)!.lastSeenAt).not.toBeNull();
  expect(bySerial.get(t1)).toMatchObject({ origin: 'renewal', parentSerial: s0, revokedAt: expect.any(String) });
  expect(bySerial.get(t2)).toMatchObject({ origin: 'renewal', parentSerial: t1, revokedAt: expect.any(String) });
  expect(bySerial.get(productionSerial)).toMatchObject({
    environment: 'production',
    origin: 'production',
    parentSerial: s0,
    revokedAt: null,
  });
  expect(bySerial.get(reissued.serial)).toMatchObject({ environment: 'development', origin: 'reissue', parentSerial: s0, revokedAt: null });
  expect(details!.certificates).toHaveLength(5);
  expect(details!.accountEmail).toBe(`${name}@example.com`);
}

function passwordFile(): string {
  const file = join(work, 'password');
  writeFileSync(file, `${PASSWORD}\n`, { mode: 0o600 });
  return file;
}

describe('a stolen host copy', () => {
  it("is stopped by the owner's keybridge cert revoke, with everything it made; the password brings the site back", async () => {
    await stolenHostCopy('owner-revokes', async (owner) => {
      const said = await ownerCli(owner, ['cert', 'revoke']);
      expect(said).toContain('revoked every certificate of this site and environment');
    });
  });

  it("is stopped by the operator's revoke of any certificate of the lineage", async () => {
    await stolenHostCopy('operator-revokes', async (owner) => {
      const serial = owner.certificates.require().certificate.serialHex;
      const revoked = await server.authority.revokeAsOperator(serial, 'reported stolen');
      expect(revoked).toHaveLength(3);
    });
  });
});
