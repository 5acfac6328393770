import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, runCli, startRoleProcess } from '../../test-helpers/up-process.ts';

/**
 * The deployed shape, as real processes: `keybridge server --config` (key service, mutual
 * TLS) and `keybridge agent --config` (sidecar) with YAML configs, the CLI registering the
 * site, storing a key, asking for production under the operator-approval policy, and the
 * operator approving it and revoking a certificate with `keybridge server …`.
 */
const work = mkdtempSync(join(tmpdir(), 'kb-roles-'));
const serverConfig = join(work, 'server.yaml');
const agentConfig = join(work, 'agent.yaml');
const env = { KEYBRIDGE_AGENT: '', KEYBRIDGE_TOKEN_FILE: join(work, 'agent.token') };
const passwordFile = join(work, 'password');
let server: Awaited<ReturnType<typeof startRoleProcess>>;
let agent: Awaited<ReturnType<typeof startRoleProcess>>;

beforeAll(async () => {
  const serverPort = await freePort();
  const agentPort = await freePort();
  env.KEYBRIDGE_AGENT = `http://127.0.0.1:${agentPort}`;
  writeFileSync(
    serverConfig,
    [
      `region: eu`,
      `home: server-home`,
      `listen: { host: 127.0.0.1, port: ${serverPort} }`,
      `tls: { hosts: [localhost, 127.0.0.1] }`,
      `production: { policy: approval }`,
    ].join('\n'),
  );
  server = await startRoleProcess(['server', '--config', serverConfig], /listening on https:\/\/127\.0\.0\.1/);
  writeFileSync(
    agentConfig,
    [
      'region: eu',
      `listen: 127.0.0.1:${agentPort}`,
      'tokenFile: agent.token',
      'certDir: agent-certs',
      'keyservice:',
      `  urls: [https://127.0.0.1:${serverPort}]`,
      '  caFile: server-home/ca/ca.pem',
      'webroots: [www]',
    ].join('\n'),
  );
  agent = await startRoleProcess(['agent', '--config', agentConfig], /keybridge agent listening/);
});

afterAll(async () => {
  await agent?.stop();
  await server?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('keybridge server and keybridge agent', () => {
  it('register, store, ask for production, operator approves, agent moves', () => {
    writeFileSync(passwordFile, 'correct horse battery staple\n');
    const registered = runCli(
      ['register', '--email', 'ops@example.com', '--password-file', passwordFile, '--site-name', 'Shop', '--json'],
      env,
    );
    expect(registered.status, registered.stderr).toBe(0);
    const site = JSON.parse(registered.stdout);
    expect(site).toMatchObject({ environment: 'development', account_email: 'ops@example.com' });

    const value = join(work, 'value');
    writeFileSync(value, 'dev-value');
    const set = runCli(['keys', 'set', 'api', '--value-file', value, '--json'], env);
    expect(set.status, set.stderr).toBe(0);

    // Without the account password there is no request at all (and nothing for the operator to approve).
    const refused = runCli(['production', '--json'], env);
    expect(refused.status, refused.stderr).toBe(2);
    expect(refused.stderr).toContain('--password-file is required');
    const pending = runCli(['production', '--password-file', passwordFile, '--json'], env);
    expect(pending.status, pending.stderr).toBe(0);
    expect(JSON.parse(pending.stdout)).toEqual({ status: 'pending' });
    const listed = runCli(['server', 'sites', 'list', '--json', '--config', serverConfig]);
    expect(JSON.parse(listed.stdout).sites.find((s: { siteId: string }) => s.siteId === site.site_id).productionApproval).toBe('pending');

    expect(runCli(['server', 'sites', 'approve', site.site_id, '--config', serverConfig]).status).toBe(0);
    const moved = runCli(['production', '--password-file', passwordFile, '--json'], env);
    expect(moved.status, moved.stderr).toBe(0);
    expect(JSON.parse(moved.stdout)).toMatchObject({ status: 'issued', environment: 'production' });

    const status = JSON.parse(runCli(['status', '--json'], env).stdout);
    expect(status.environment).toBe('production');
    // The development value stays in the development vault: production starts empty.
    expect(JSON.parse(runCli(['keys', 'list', '--json'], env).stdout).keys).toEqual([]);
  });

  it('rotates the root key while the server runs: it picks up the new key, the CA key stays sealed', () => {
    const rotated = runCli(['server', 'rotate-root', '--config', serverConfig, '--json']);
    expect(rotated.status, rotated.stderr).toBe(0);
    const { from, to, resumed } = JSON.parse(rotated.stdout);
    expect(resumed).toBe(false);
    expect(existsSync(join(work, 'server-home', `root-${to}.key`))).toBe(true);
    expect(readdirSync(join(work, 'server-home')).filter((f) => f.endsWith('.key'))).toEqual([`root-${to}.key`]);
    expect(from).not.toBe(to);
    // A new vault (production had none yet) is sealed by the new key in the running server.
    const value = join(work, 'value-after');
    writeFileSync(value, 'after-rotation');
    const set = runCli(['keys', 'set', 'api2', '--value-file', value, '--json'], env);
    expect(set.status, set.stderr).toBe(0);
    const kek = join(work, 'kek-after');
    writeFileSync(kek, JSON.parse(set.stdout).wrapping_key);
    const got = runCli(['keys', 'get', 'api2', '--wrapping-key-file', kek], env);
    expect(got.status, got.stderr).toBe(0);
    expect(got.stdout).toContain('after-rotation');
    // Operator commands open the CA through the new key too.
    expect(runCli(['server', 'sites', 'list', '--json', '--config', serverConfig]).status).toBe(0);
    const pem = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
        e.isDirectory() ? pem(join(dir, e.name)) : readFileSync(join(dir, e.name)).includes('PRIVATE KEY') ? [e.name] : [],
      );
    expect(pem(join(work, 'server-home'))).toEqual([]);
  });

  it('lets the operator revoke a lineage, refused from its next request, and the owner re-issue with the password', () => {
    const status = JSON.parse(runCli(['status', '--json'], env).stdout);
    expect(status.registered).toBe(true);
    const cert = readFileSync(join(work, 'agent-certs', 'client.pem'), 'utf8');
    expect(cert).toContain('BEGIN CERTIFICATE');
    const production = JSON.parse(runCli(['status', '--json'], env).stdout);
    expect(production.environment).toBe('production');
    const renewed = JSON.parse(runCli(['cert', 'renew', '--json'], env).stdout);
    // The operator names the certificate it replaced: its renewal (what this agent uses) is revoked with it.
    const site = JSON.parse(runCli(['server', 'sites', 'show', renewed.site_id, '--json', '--config', serverConfig]).stdout);
    const parent = site.certificates.find((c: { serialHex: string }) => c.serialHex === renewed.serial).parentSerial;
    const revoke = runCli(['server', 'cert', 'revoke', parent, '--config', serverConfig]);
    expect(revoke.status, revoke.stderr).toBe(0);
    expect(revoke.stdout).toContain(renewed.serial);
    const after = runCli(['keys', 'list'], env);
    expect(after.status).toBe(1);
    expect(after.stderr).toContain('certificate-revoked');
    const red = JSON.parse(runCli(['status', '--json'], env).stdout).rows.find((r: { id: string }) => r.id === 'certificate-valid');
    expect(red).toMatchObject({ severity: 'error', value: expect.stringContaining('revoked by the key service') });

    const reissued = runCli(['cert', 'reissue', '--password-file', passwordFile, '--json'], env);
    expect(reissued.status, reissued.stderr).toBe(0);
    expect(JSON.parse(reissued.stdout)).toMatchObject({ environment: 'production', site_id: renewed.site_id });
    expect(runCli(['keys', 'get', 'api2', '--wrapping-key-file', join(work, 'kek-after')], env).stdout).toContain('after-rotation');
    const shown = runCli(['server', 'sites', 'show', renewed.site_id, '--config', serverConfig]);
    expect(shown.status, shown.stderr).toBe(0);
    expect(shown.stdout).toMatch(/ORIGIN[\s\S]*reissue[\s\S]*renewal[\s\S]*production[\s\S]*registration/);
  });

  it('refuses a config with a bad field, naming it', () => {
    const bad = join(work, 'bad.yaml');
    writeFileSync(bad, 'region: eu\nhome: h\nlisten: { port: 99999 }\n');
    const result = runCli(['server', '--config', bad]);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('listen.port');
  });

  it('logs requests without secrets', async () => {
    // runCli blocks this process (spawnSync): let the role processes' output be read first.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(server.output()).toContain('"path":"/ks/v1/site/secrets/put"');
    expect(server.output()).not.toContain('dev-value');
    expect(agent.output()).not.toContain('dev-value');
  });
});
