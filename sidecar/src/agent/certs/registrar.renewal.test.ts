import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestAgent, startTestKeyServer, type TestAgent, type TestKeyServer } from '../../../test-helpers/keyservice.ts';
import { createCsr, generateKeyPairAsync } from '../../pki/index.ts';
import { HttpsKeyServiceClient } from '../keyservice/https-client.ts';
import { RENEW_AT_FRACTION, type IssuedJson } from './registrar.ts';
import { CLIENT_FILE } from './store.ts';

/**
 * The custom certificate, renewal, and a certificate write that fails half way: through a
 * real agent and a real key service over mutual TLS, and a child process whose file-size
 * limit makes the write of client.pem fail the way a full disk does.
 */
const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../../../..');
const CHILD = join(ROOT, 'sidecar', 'test-helpers', 'install-certificate-child.ts');
const work = mkdtempSync(join(tmpdir(), 'kb-renewal-'));
const started: { stop(): Promise<void> }[] = [];
let server: TestKeyServer;

async function registeredAgent(name: string): Promise<TestAgent> {
  const agent = await startTestAgent(server, { certDir: join(work, name, 'certs') });
  started.push(agent);
  const registered = await agent.call('POST', '/v1/register', { email: `${name}@example.com`, site_name: name });
  expect(registered.status, registered.text).toBe(200);
  return agent;
}

const clientPem = (agent: TestAgent) => readFileSync(join(agent.certDir, CLIENT_FILE));

/** A set + get round trip through the agent: proves the installed certificate opens the vault. */
async function expectKeysWork(agent: TestAgent, name: string): Promise<void> {
  const set = await agent.call('POST', '/v1/keys/set', { name, value: `value of ${name}` });
  expect(set.status, set.text).toBe(200);
  const get = await agent.call('POST', '/v1/keys/get', { name, wrapping_key: set.json.wrapping_key });
  expect(get.status, get.text).toBe(200);
  expect(Buffer.from(get.json.value_base64, 'base64').toString()).toBe(`value of ${name}`);
}

beforeAll(async () => {
  server = await startTestKeyServer();
  started.push(server);
});

afterAll(async () => {
  for (const item of started.reverse()) await item.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('custom certificate', () => {
  let agent: TestAgent;
  const subject = { country: 'NL', state: 'Noord-Holland', locality: 'Amsterdam', organization: 'Example BV' };

  beforeAll(async () => {
    agent = await registeredAgent('custom');
  });

  it('installs a new development certificate whose subject has the owner’s fields', async () => {
    const before = agent.certificates.require();
    const created = await agent.call('POST', '/v1/certificates/create', subject);
    expect(created.status, created.text).toBe(200);
    const after = agent.certificates.require();
    expect(after.certificate.subject).toEqual({ commonName: before.siteId, organizationalUnit: 'development', ...subject });
    expect(after.environment).toBe('development');
    expect(after.certificate.serialHex).not.toBe(before.certificate.serialHex);
    expect(created.json).toMatchObject({ serial: after.certificate.serialHex, environment: 'development', site_id: before.siteId });
    expect(created.json.subject).toMatchObject(subject);
    await expectKeysWork(agent, 'custom/after');
  });

  for (const [field, value] of [
    ['country', 'nl'],
    ['country', 'NLD'],
    ['state', 'North, Holland'],
    ['locality', ''],
    ['organization', ' Example BV'],
  ] as const) {
    it(`refuses ${field} ${JSON.stringify(value)} with invalid-field naming ${field}, changing nothing on disk`, async () => {
      const before = clientPem(agent);
      const refused = await agent.call('POST', '/v1/certificates/create', { ...subject, [field]: value });
      expect(refused.status, refused.text).toBe(422);
      expect(refused.json).toMatchObject({ type: 'invalid-field', field });
      expect(clientPem(agent).equals(before)).toBe(true);
    });
  }

  it('refuses a missing field with invalid-field naming it', async () => {
    const before = clientPem(agent);
    const { organization: _dropped, ...partial } = subject;
    const refused = await agent.call('POST', '/v1/certificates/create', partial);
    expect(refused.json).toMatchObject({ type: 'invalid-field', field: 'organization' });
    expect(clientPem(agent).equals(before)).toBe(true);
  });

  it('refuses an extra field (such as an environment) with invalid-field naming it', async () => {
    const before = clientPem(agent);
    const refused = await agent.call('POST', '/v1/certificates/create', { ...subject, organizational_unit: 'production' });
    expect(refused.json).toMatchObject({ type: 'invalid-field', field: 'organizational_unit' });
    expect(clientPem(agent).equals(before)).toBe(true);
  });
});

describe('renewal', () => {
  let agent: TestAgent;

  beforeAll(async () => {
    agent = await registeredAgent('renew');
  });

  it('is not due now', async () => {
    const before = clientPem(agent);
    expect(await agent.registrar.renewIfDue(new Date())).toBe(false);
    expect(clientPem(agent).equals(before)).toBe(true);
  });

  it('is due past two thirds of the lifetime: installs a new serial, and the old certificate keeps working', async () => {
    const old = agent.certificates.require();
    const { notBefore, notAfter } = old.certificate;
    const justBefore = new Date(notBefore.getTime() + (notAfter.getTime() - notBefore.getTime()) * RENEW_AT_FRACTION - 60_000);
    expect(await agent.registrar.renewIfDue(justBefore)).toBe(false);
    const past = new Date(notBefore.getTime() + (notAfter.getTime() - notBefore.getTime()) * 0.7);
    expect(await agent.registrar.renewIfDue(past)).toBe(true);

    const renewed = agent.certificates.require();
    expect(renewed.certificate.serialHex).not.toBe(old.certificate.serialHex);
    expect(renewed.siteId).toBe(old.siteId);
    expect(renewed.environment).toBe('development');
    expect(renewed.tls.keyPem).not.toBe(old.tls.keyPem);
    expect(renewed.certificate.notAfter.getTime()).toBeGreaterThanOrEqual(old.certificate.notAfter.getTime());
    await expectKeysWork(agent, 'renewed/key');

    // Not revoked: another host still on the old certificate goes on until it expires.
    const oldClient = new HttpsKeyServiceClient({ urls: [server.url], tls: () => old.tls, caCertPem: () => server.caCertPem });
    try {
      const whoami = await oldClient.call<{ site_id: string; serial: string }>('GET', '/ks/v1/site/whoami');
      expect(whoami).toMatchObject({ site_id: old.siteId, serial: old.certificate.serialHex });
      expect((await oldClient.list()).length).toBeGreaterThan(0);
    } finally {
      oldClient.close();
    }
    const records = await server.authority.certificates(old.siteId);
    expect(records.find((r) => r.serialHex === old.certificate.serialHex)?.revokedAt).toBeNull();
    expect(records.find((r) => r.serialHex === renewed.certificate.serialHex)?.parentSerial).toBe(old.certificate.serialHex);
  });
});

describe('a failed write of the new certificate', () => {
  let agent: TestAgent;
  let files: { key: string; cert: string };

  beforeAll(async () => {
    agent = await registeredAgent('full-disk');
    await expectKeysWork(agent, 'before/failure');
    // A genuine renewed certificate for this site, not yet installed.
    const keyPair = await generateKeyPairAsync();
    const issued = await agent.client.call<IssuedJson>('POST', '/ks/v1/site/certificates/renew', {
      csr: createCsr(keyPair, { commonName: agent.certificates.require().siteId }),
    });
    const dir = mkdtempSync(join(work, 'new-'));
    files = { key: join(dir, 'key.pem'), cert: join(dir, 'cert.pem') };
    writeFileSync(files.key, keyPair.privateKeyPem, { mode: 0o600 });
    writeFileSync(files.cert, issued.certificate, { mode: 0o600 });
  });

  async function installInChild(fileSizeLimit?: number): Promise<{ ok: boolean; code?: string | null; serial?: string }> {
    const node = [process.execPath, '--import', 'tsx', CHILD, agent.certDir, files.key, files.cert];
    const [command, ...args] = fileSizeLimit === undefined ? node : ['prlimit', `--fsize=${fileSizeLimit}`, '--', ...node];
    const result = await run(command, args, {
      cwd: ROOT,
      // tsx would otherwise write its transform cache, which the file-size limit also hits.
      env: { ...process.env, TSX_DISABLE_CACHE: '1' },
    }).catch((error: { stdout?: string; stderr?: string }) => ({ stdout: error.stdout ?? '', stderr: error.stderr ?? '' }));
    const line = result.stdout.trim().split('\n').pop() ?? '';
    expect(line, result.stderr).toMatch(/^\{/);
    return JSON.parse(line);
  }

  it('fails with EFBIG under a 600-byte file-size limit and leaves client.pem byte-identical', async () => {
    const before = clientPem(agent);
    const entries = readdirSync(agent.certDir).sort();
    const outcome = await installInChild(600);
    expect(outcome).toMatchObject({ ok: false, code: 'EFBIG' });
    expect(clientPem(agent).equals(before)).toBe(true);
    // No half-written temp file is left behind next to it.
    expect(readdirSync(agent.certDir).sort()).toEqual(entries);
  });

  it('leaves the agent reading and writing keys with the old certificate', async () => {
    await expectKeysWork(agent, 'after/failure');
    const read = await agent.call('POST', '/v1/keys/fetch', { names: ['before/failure'] });
    expect(read.status, read.text).toBe(200);
    expect(read.json.keys[0].found).toBe(true);
  });

  it('installs the same certificate without the limit (the child itself works)', async () => {
    const outcome = await installInChild();
    expect(outcome.ok).toBe(true);
    expect(agent.certificates.require().certificate.serialHex).toBe(outcome.serial);
    expect(readFileSync(join(agent.certDir, CLIENT_FILE), 'utf8')).toContain(readFileSync(files.cert, 'utf8').trim());
    await expectKeysWork(agent, 'after/install');
  });
});
