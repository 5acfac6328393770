import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_BACKEND, startTestAgent, startTestKeyServer, type TestAgent, type TestKeyServer } from '../../test-helpers/keyservice.ts';
import type { ApiResponse } from '../../test-helpers/embedded.ts';
import { loadSpec } from '../../../shims/generator/spec.ts';
import type { StatusReport, StatusRow } from './status.ts';

/**
 * GET /v1/status through a real agent against a real key service over mutual TLS: the
 * severity of each row in the situations a site owner meets.
 */
const work = mkdtempSync(join(tmpdir(), 'kb-status-'));
const started: { stop(): Promise<void> }[] = [];
let server: TestKeyServer;

async function agentOn(on: { url: string; caCertPem: string }, options: Parameters<typeof startTestAgent>[1] = {}): Promise<TestAgent> {
  const agent = await startTestAgent(on, options);
  started.push(agent);
  return agent;
}

async function register(agent: TestAgent, name = 'site'): Promise<void> {
  const registered = await agent.call('POST', '/v1/register', { email: `${name}@example.com`, site_name: name });
  expect(registered.status, registered.text).toBe(200);
}

async function status(agent: TestAgent): Promise<StatusReport & { response: ApiResponse }> {
  const response = await agent.call('GET', '/v1/status');
  expect(response.status, response.text).toBe(200);
  return { ...response.json, response };
}

function row(report: StatusReport, id: string): StatusRow {
  const found = report.rows.find((r) => r.id === id);
  if (!found) throw new Error(`no status row ${id} in ${report.rows.map((r) => r.id).join(', ')}`);
  return found;
}

beforeAll(async () => {
  server = await startTestKeyServer();
  started.push(server);
});

afterAll(async () => {
  for (const item of started.reverse()) await item.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('a registered site on a healthy key service', () => {
  let report: StatusReport;
  let agent: TestAgent;

  beforeAll(async () => {
    agent = await agentOn(server, { certDir: join(work, 'happy', 'certs'), webroots: [join(work, 'happy', 'web')] });
    await register(agent, 'happy');
    report = await status(agent);
  });

  it('is registered, in development, in its region', () => {
    expect(report).toMatchObject({ registered: true, environment: 'development', region: 'eu' });
  });

  it('has every certificate row ok', () => {
    for (const id of ['certificate-found', 'certificate-valid', 'certificate-directory', 'site-registered', 'environment']) {
      expect(row(report, id).severity, `${id}: ${row(report, id).value}`).toBe('ok');
    }
    expect(row(report, 'certificate-found').value).toBe(join(agent.certDir, 'client.pem'));
    expect(row(report, 'certificate-valid').value).toMatch(/OU=development, expires \d{4}-\d{2}-\d{2} \(\d+ days left\)/);
    expect(row(report, 'site-registered').value).toContain('happy@example.com');
  });

  it('has keyservice ok with its round trip in ms', () => {
    expect(row(report, 'keyservice').severity).toBe('ok');
    expect(row(report, 'keyservice').value).toMatch(/round trip \d+(\.\d+)? ms/);
    expect(row(report, 'region')).toMatchObject({ severity: 'ok', value: 'eu' });
  });

  it('warns about the software root key', (ctx) => {
    ctx.skip(TEST_BACKEND !== 'sqlite-software', 'the software root key is the sqlite-software backend (pass 1 of npm test)');
    expect(row(report, 'at-rest').severity).toBe('warning');
    expect(row(report, 'at-rest').help).toMatch(/HSM/);
  });

  it('reports the PKCS#11 root key as ok', (ctx) => {
    ctx.skip(TEST_BACKEND !== 'postgres-softhsm', 'the PKCS#11 root key is the postgres-softhsm backend (pass 2 of npm test)');
    expect(row(report, 'at-rest').severity).toBe('ok');
    expect(row(report, 'at-rest').value).toMatch(/PKCS#11/);
  });

  it('gives every row an id, title, severity, value, help and action', () => {
    for (const r of report.rows) expect(Object.keys(r).sort()).toEqual(['action', 'help', 'id', 'severity', 'title', 'value']);
  });
});

describe('a site that is not registered', () => {
  let report: StatusReport;

  beforeAll(async () => {
    report = await status(await agentOn(server, { certDir: join(work, 'fresh', 'certs') }));
  });

  it('says registered: false', () => {
    expect(report.registered).toBe(false);
  });

  it('has certificate-found as an error', () => {
    expect(row(report, 'certificate-found').severity).toBe('error');
  });

  it('has certificate-valid as an error', () => {
    expect(row(report, 'certificate-valid').severity).toBe('error');
  });

  it('has site-registered as an error whose action is to register, worded by each surface (no command in help)', () => {
    const registered = row(report, 'site-registered');
    expect(registered.severity).toBe('error');
    expect(registered.action).toBe('register');
    expect(row(report, 'certificate-found').action).toBe('register');
    for (const r of report.rows) expect(r.help, r.id).not.toMatch(/keybridge |wp keybridge|drush /);
  });

  it('names only actions that shims/spec.yaml words for every surface', () => {
    const actions = new Set(loadSpec().statusActions.map((action) => action.id));
    for (const r of report.rows) if (r.action !== '') expect(actions, `${r.id}: ${r.action}`).toContain(r.action);
  });

  it('still reaches the key service', () => {
    expect(row(report, 'keyservice').severity).toBe('ok');
  });
});

describe('the certificate directory', () => {
  it('inside a webroot is an error naming the webroot', async () => {
    const webroot = join(work, 'inside', 'web');
    mkdirSync(webroot, { recursive: true });
    const agent = await agentOn(server, { certDir: join(webroot, 'private', 'certs'), webroots: [webroot] });
    await register(agent, 'inside');
    const directory = row(await status(agent), 'certificate-directory');
    expect(directory.severity).toBe('error');
    expect(directory.value).toContain(`inside the webroot ${webroot}`);
  });

  it('inside a webroot under a name starting with ".." is an error too', async () => {
    const webroot = join(work, 'dots', 'web');
    mkdirSync(webroot, { recursive: true });
    const agent = await agentOn(server, { certDir: join(webroot, '..keybridge'), webroots: [webroot] });
    await register(agent, 'dots');
    expect(row(await status(agent), 'certificate-directory').severity).toBe('error');
  });

  it('beside (not inside) the webroot is ok', async () => {
    const webroot = join(work, 'beside', 'web');
    mkdirSync(webroot, { recursive: true });
    const agent = await agentOn(server, { certDir: join(work, 'beside', 'web-certs'), webroots: [webroot] });
    await register(agent, 'beside');
    expect(row(await status(agent), 'certificate-directory').severity).toBe('ok');
  });

  it('with mode 0755 is an error "readable by others"', async () => {
    const agent = await agentOn(server, { certDir: join(work, 'open-dir', 'certs') });
    await register(agent, 'open-dir');
    chmodSync(agent.certDir, 0o755);
    const directory = row(await status(agent), 'certificate-directory');
    expect(directory.severity).toBe('error');
    expect(directory.value).toContain('readable by others');
    expect(directory.help).toContain('chmod 700');
  });

  it('with client.pem mode 0644 makes certificate-found an error', async () => {
    const agent = await agentOn(server, { certDir: join(work, 'open-file', 'certs') });
    await register(agent, 'open-file');
    expect(row(await status(agent), 'certificate-found').severity).toBe('ok');
    chmodSync(join(agent.certDir, 'client.pem'), 0o644);
    const report = await status(agent);
    expect(row(report, 'certificate-found').severity).toBe('error');
    expect(row(report, 'certificate-found').value).toMatch(/readable by group or others/);
    // Once fixed, the row is green again.
    chmodSync(join(agent.certDir, 'client.pem'), 0o600);
    expect(row(await status(agent), 'certificate-found').severity).toBe('ok');
  });

  it('with site.json mode 0644 makes certificate-found an error', async () => {
    const agent = await agentOn(server, { certDir: join(work, 'open-site', 'certs') });
    await register(agent, 'open-site');
    expect(row(await status(agent), 'certificate-found').severity).toBe('ok');
    chmodSync(join(agent.certDir, 'site.json'), 0o644);
    const found = row(await status(agent), 'certificate-found');
    expect(found.severity).toBe('error');
    expect(found.value).toContain('site.json');
  });
});

describe('certificate expiry', () => {
  it('warns under 30 days (a 20-day certificate)', async () => {
    const shortLived = await startTestKeyServer({ lifetimes: { developmentDays: 20 } });
    started.push(shortLived);
    const agent = await agentOn(shortLived, { certDir: join(work, 'twenty', 'certs') });
    await register(agent, 'twenty');
    const valid = row(await status(agent), 'certificate-valid');
    expect(valid.severity).toBe('warning');
    expect(valid.value).toMatch(/\(19 days left\)/);
  });

  it('is an error under 7 days (a 5-day certificate)', async () => {
    const shortLived = await startTestKeyServer({ lifetimes: { developmentDays: 5 } });
    started.push(shortLived);
    const agent = await agentOn(shortLived, { certDir: join(work, 'five', 'certs') });
    await register(agent, 'five');
    const valid = row(await status(agent), 'certificate-valid');
    expect(valid.severity).toBe('error');
    expect(valid.help).toMatch(/[Rr]enew/);
    expect(valid.action).toBe('renew');
  });
});

describe('region and reachability', () => {
  it('an agent in region us against a key service in eu has the region row as an error', async () => {
    const agent = await agentOn(server, { certDir: join(work, 'us', 'certs'), region: 'us' });
    const report = await status(agent);
    expect(row(report, 'region').severity).toBe('error');
    expect(row(report, 'region').value).toBe('agent us, key service eu');
  });

  it('a status page loaded while keys are read breaks none of the reads', async () => {
    // The status check reaches the key service without a certificate, the reads with one.
    const agent = await agentOn(server, { certDir: join(work, 'busy', 'certs') });
    await register(agent, 'busy');
    const calls = Array.from({ length: 8 }, (_, i) => agent.call('GET', i % 2 === 0 ? '/v1/keys' : '/v1/status'));
    const answers = await Promise.all(calls);
    for (const answer of answers) expect(answer.status, answer.text).toBe(200);
    for (const answer of answers.filter((_, i) => i % 2 === 1)) expect(row(answer.json, 'keyservice').severity).toBe('ok');
  });

  it('a stopped key service makes keyservice and at-rest errors, and the status call still answers 200', async () => {
    const doomed = await startTestKeyServer();
    const agent = await agentOn(doomed, { certDir: join(work, 'stopped', 'certs') });
    await register(agent, 'stopped');
    expect(row(await status(agent), 'keyservice').severity).toBe('ok');
    await doomed.stop();
    const report = await status(agent);
    expect(report.response.status).toBe(200);
    expect(row(report, 'keyservice').severity).toBe('error');
    expect(row(report, 'keyservice').value).toMatch(/^unreachable/);
    expect(row(report, 'at-rest').severity).toBe('error');
    // What the agent knows locally is still reported.
    expect(report.registered).toBe(true);
    expect(row(report, 'certificate-found').severity).toBe('ok');
  });
});
