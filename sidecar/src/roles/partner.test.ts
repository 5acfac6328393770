import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, runCli, startRoleProcess } from '../../test-helpers/up-process.ts';
import { inspectCertificate, matchesPrivateKey } from '../pki/index.ts';

/**
 * The partner flow as real processes: the operator runs `keybridge server partner issue`,
 * which writes Pantheon's binding.pem; `keybridge agent` started with PANTHEON_ENVIRONMENT
 * finds it through its config, and `keybridge register --email` is all the site needs.
 */
const work = mkdtempSync(join(tmpdir(), 'kb-partner-roles-'));
const serverConfig = join(work, 'server.yaml');
const binding = join(work, 'binding.pem');
let serverPort = 0;
let issued: { site_id: string; environment: string; serial: string; path: string };

beforeAll(async () => {
  serverPort = await freePort();
  writeFileSync(
    serverConfig,
    [`region: eu`, `home: server-home`, `listen: { host: 127.0.0.1, port: ${serverPort} }`, `tls: { hosts: [localhost, 127.0.0.1] }`].join(
      '\n',
    ),
  );
  const result = runCli([
    'server',
    'partner',
    'issue',
    '--partner',
    'pantheon',
    '--site-name',
    'Example live',
    '--environment',
    'live',
    '--out',
    binding,
    '--json',
    '--config',
    serverConfig,
  ]);
  expect(result.status, result.stderr).toBe(0);
  issued = JSON.parse(result.stdout);
});

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

describe('keybridge server partner issue', () => {
  it('writes the key and the production certificate of a new partner site into one 0600 file', () => {
    expect(issued).toMatchObject({
      environment: 'production',
      partner: 'pantheon',
      platform_environment: 'live',
      site_name: 'Example live',
      path: binding,
    });
    expect(statSync(binding).mode & 0o777).toBe(0o600);
    const pem = readFileSync(binding, 'utf8');
    const info = inspectCertificate(pem);
    expect(info.subject).toMatchObject({
      commonName: issued.site_id,
      organizationalUnit: 'production',
      organization: 'pantheon',
      locality: 'live',
    });
    expect(info.serialHex).toBe(issued.serial);
    expect(matchesPrivateKey(pem, /-----BEGIN PRIVATE KEY-----[\s\S]+?-----END PRIVATE KEY-----/.exec(pem)![0])).toBe(true);
    const sites = JSON.parse(runCli(['server', 'sites', 'list', '--json', '--config', serverConfig]).stdout).sites;
    expect(sites).toEqual([expect.objectContaining({ siteId: issued.site_id, partner: 'pantheon' })]);
  });

  it('issues development for any other environment, and a new certificate for an existing site', () => {
    const out = join(work, 'dev.pem');
    const dev = runCli([
      'server',
      'partner',
      'issue',
      '--partner',
      'pantheon',
      '--site',
      issued.site_id,
      '--environment',
      'dev',
      '--out',
      out,
      '--config',
      serverConfig,
    ]);
    expect(dev.status, dev.stderr).toBe(0);
    expect(dev.stdout).toContain(`site ${issued.site_id}`);
    expect(dev.stdout).toContain('development certificate for pantheon dev');
    expect(inspectCertificate(readFileSync(out, 'utf8')).subject.organizationalUnit).toBe('development');
  });

  it('refuses what it cannot issue, naming why', () => {
    const base = [
      'server',
      'partner',
      'issue',
      '--partner',
      'pantheon',
      '--environment',
      'live',
      '--out',
      join(work, 'x.pem'),
      '--config',
      serverConfig,
    ];
    expect(runCli(base).status).toBe(2);
    const unknown = runCli([...base.slice(0, 4), 'acquia', ...base.slice(5), '--site-name', 'A']);
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toContain('(partner)');
    const nowhere = runCli([...base.slice(0, 8), join(work, 'missing', 'x.pem'), ...base.slice(9), '--site-name', 'A']);
    expect(nowhere.status).toBe(1);
    expect(nowhere.stderr).toContain('(out)');
  });
});

describe('keybridge agent on Pantheon', () => {
  it('registers with an email only, writes only site.json, and reports the platform environment', async () => {
    const server = await startRoleProcess(['server', '--config', serverConfig], /listening on https:\/\/127\.0\.0\.1/);
    const agentPort = await freePort();
    const agentConfig = join(work, 'agent.yaml');
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
        'partner: { certFile: binding.pem }',
      ].join('\n'),
    );
    const env = {
      PANTHEON_ENVIRONMENT: 'live',
      KEYBRIDGE_AGENT: `http://127.0.0.1:${agentPort}`,
      KEYBRIDGE_TOKEN_FILE: join(work, 'agent.token'),
    };
    const agent = await startRoleProcess(['agent', '--config', agentConfig], /keybridge agent listening/, env);
    try {
      expect(agent.output()).toContain(`pantheon live, certificate ${binding}`);
      const before = readFileSync(binding);
      const registered = runCli(['register', '--email', 'owner@example.com', '--json'], env);
      expect(registered.status, registered.stderr).toBe(0);
      expect(JSON.parse(registered.stdout)).toMatchObject({ site_id: issued.site_id, environment: 'production', path: binding });
      expect(readdirSync(join(work, 'agent-certs'))).toEqual(['site.json']);
      const status = JSON.parse(runCli(['status', '--json'], env).stdout);
      expect(status.rows.find((r: { id: string }) => r.id === 'environment')).toMatchObject({
        severity: 'ok',
        value: 'production (Pantheon live)',
      });
      const renew = runCli(['cert', 'renew'], env);
      expect(renew.status).toBe(1);
      expect(renew.stderr).toContain('the platform issues');
      expect(readFileSync(binding).equals(before)).toBe(true);
    } finally {
      await agent.stop();
      await server.stop();
    }
  });
});
