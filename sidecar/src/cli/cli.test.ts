import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lockrItem } from '../../test-helpers/lockr-item.ts';
import { runCli, startUpProcess, type UpProcess } from '../../test-helpers/up-process.ts';

/**
 * README command 1, end to end: `keybridge up` as a real process, and the CLI as real
 * commands finding it through the home directory, as a newcomer would use them.
 */
const home = mkdtempSync(join(tmpdir(), 'kb-cli-'));
const work = mkdtempSync(join(tmpdir(), 'kb-cli-work-'));
const env = { KEYBRIDGE_HOME: home };
let upProcess: UpProcess;

beforeAll(async () => {
  upProcess = await startUpProcess(home);
});
afterAll(async () => {
  await upProcess?.stop();
  rmSync(home, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
});

function file(name: string, content: string | Buffer): string {
  const path = join(work, name);
  writeFileSync(path, content);
  return path;
}

describe('keybridge up', () => {
  it('prints the lines to paste into wp-config.php and settings.php', () => {
    expect(upProcess.output()).toContain(`define( 'KEYBRIDGE_AGENT', '${upProcess.url}' );`);
    expect(upProcess.output()).toContain(`$settings['keybridge']['token_file'] = '${join(home, 'agent.token')}';`);
  });

  it('status exits 0 with yellow rows only, and 1 with --strict (the software root key is a warning)', () => {
    const plain = runCli(['status'], env);
    expect(plain.status, plain.stdout).toBe(0);
    expect(plain.stdout).toMatch(/WARN\s+At-rest protection/);
    expect(runCli(['status', '--strict'], env).status).toBe(1);
  });

  it('keeps its home private', () => {
    expect(statSync(home).mode & 0o777).toBe(0o700);
    expect(statSync(join(home, 'agent.token')).mode & 0o777).toBe(0o600);
    expect(statSync(join(home, 'certs')).mode & 0o777).toBe(0o700);
  });

  it('--no-register leaves registration to the site owner; --webroot puts the site webroot under watch', async () => {
    const otherHome = mkdtempSync(join(tmpdir(), 'kb-cli-unregistered-'));
    // The certificate directory (home/certs) inside the declared webroot must turn its row red.
    const other = await startUpProcess(otherHome, ['--no-register', '--webroot', otherHome]);
    try {
      const result = runCli(['status', '--json'], { KEYBRIDGE_HOME: otherHome });
      const status = JSON.parse(result.stdout);
      expect(status.registered).toBe(false);
      const row = (id: string) => status.rows.find((r: { id: string }) => r.id === id);
      expect(row('certificate-found').severity).toBe('error');
      expect(row('certificate-directory').severity).toBe('error');
      expect(existsSync(join(otherHome, 'certs', 'client.pem'))).toBe(false);
      // Red rows: exit 1, and the text says what to run in this CLI's own words (spec.yaml status_actions).
      const text = runCli(['status'], { KEYBRIDGE_HOME: otherHome });
      expect(text.status).toBe(1);
      expect(text.stdout).toContain(
        'ERROR Site registered: Register this site with the key service. Run: keybridge register --email you@example.com --site-name NAME',
      );
      expect(text.stdout).not.toContain('wp keybridge');
    } finally {
      await other.stop();
      rmSync(otherHome, { recursive: true, force: true });
    }
  });
});

describe('keys', () => {
  it('sets a value, prints a kb1 KEK, and gets the exact bytes back', () => {
    const value = file('v', 's3cret-demo-value');
    const set = runCli(['keys', 'set', 'demo', '--value-file', value], env);
    expect(set.status, set.stderr).toBe(0);
    expect(set.stdout).toMatch(/^kb1\$[A-Za-z0-9_-]{43}\n$/);
    const kek = file('k', set.stdout);
    const get = runCli(['keys', 'get', 'demo', '--wrapping-key-file', kek], env);
    expect(get.status, get.stderr).toBe(0);
    expect(get.stdout).toBe('s3cret-demo-value');
  });

  it('prints stable JSON, reuses a KEK, lists, rotates and deletes', () => {
    const first = runCli(['keys', 'set', 'stripe', '--value-file', file('s1', 'sk_live_1'), '--label', 'Stripe', '--json'], env);
    const written = JSON.parse(first.stdout);
    expect(Object.keys(written)).toEqual(['name', 'wrapping_key', 'version']);
    const kek = file('stripe.kek', written.wrapping_key);
    const again = JSON.parse(
      runCli(['keys', 'set', 'stripe', '--value-file', file('s2', 'sk_live_2'), '--wrapping-key-file', kek, '--json'], env).stdout,
    );
    expect(again).toEqual({ name: 'stripe', wrapping_key: written.wrapping_key, version: written.version + 1 });

    const list = JSON.parse(runCli(['keys', 'list', '--json'], env).stdout);
    expect(list.keys.find((key: { name: string }) => key.name === 'stripe')).toMatchObject({ label: 'Stripe', version: 2 });
    expect(runCli(['keys', 'list'], env).stdout).toMatch(/^NAME\s+VERSION\s+READS/);

    const rotated = runCli(['keys', 'rotate', 'stripe', '--wrapping-key-file', kek], env);
    expect(rotated.status).toBe(0);
    const newKek = file('stripe.kek2', rotated.stdout);
    expect(runCli(['keys', 'get', 'stripe', '--wrapping-key-file', newKek], env).stdout).toBe('sk_live_2');
    const old = runCli(['keys', 'get', 'stripe', '--wrapping-key-file', kek], env);
    expect(old.status).toBe(1);
    expect(old.stderr).toContain('kek-mismatch');

    expect(runCli(['keys', 'delete', 'stripe'], env).status).toBe(0);
    expect(runCli(['keys', 'get', 'stripe', '--wrapping-key-file', newKek], env).status).toBe(1);
  });

  it('generates a key of the requested size', () => {
    const set = runCli(['keys', 'set', 'enc', '--generate', '256'], env);
    expect(set.status, set.stderr).toBe(0);
    const get = runCli(['keys', 'get', 'enc', '--wrapping-key-file', file('enc.kek', set.stdout)], env);
    expect(get.stdoutBytes).toHaveLength(32);
  });
});

describe('exit codes', () => {
  it('exits 2 on usage errors', () => {
    expect(runCli([], env).status).toBe(2);
    expect(runCli(['nope'], env).status).toBe(2);
    expect(runCli(['keys', 'set', 'x'], env).status).toBe(2); // neither --value-file nor --generate
    expect(runCli(['keys', 'get', 'x'], env).status).toBe(2); // no --wrapping-key-file
    expect(runCli(['keys', 'list', '--bogus'], env).status).toBe(2);
  });

  it('exits 1 with one clear line on errors', () => {
    const missing = runCli(['keys', 'set', 'x', '--value-file', join(work, 'does-not-exist')], env);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain('--value-file');
    const badName = runCli(['keys', 'set', '../x', '--value-file', file('v2', 'v')], env);
    expect(badName.status).toBe(1);
    expect(badName.stderr).toContain('invalid-name');
    const noAgent = runCli(['status'], { KEYBRIDGE_HOME: join(work, 'no-home') });
    expect(noAgent.status).toBe(1);
    expect(noAgent.stderr).toContain('keybridge up');
    const wrongToken = runCli(['keys', 'list'], { ...env, KEYBRIDGE_TOKEN_FILE: file('bad.token', 'A'.repeat(43)) });
    expect(wrongToken.status).toBe(1);
    expect(wrongToken.stderr).toContain('unauthorized');
  });
});

describe('status', () => {
  it('prints every row with a severity, as JSON and as a table', () => {
    const json = runCli(['status', '--json'], env);
    expect(json.status, json.stderr).toBe(0);
    const report = JSON.parse(json.stdout);
    expect(report).toMatchObject({ environment: 'development', region: 'local', registered: true });
    const byId = Object.fromEntries(report.rows.map((row: { id: string }) => [row.id, row]));
    expect(byId['keyservice'].severity).toBe('ok');
    expect(byId['at-rest'].severity).toBe('warning');
    expect(byId['at-rest'].value).toContain('software');
    expect(runCli(['status'], env).stdout).toContain('Key service reachable');
  });
});

describe('import and export', () => {
  it('imports Lockr items and prints one JSON object per key', () => {
    const items = Array.from({ length: 60 }, (_, i) => lockrItem(`lockr/key${i}`, `legacy value ${i}`));
    const result = runCli(['import', 'lockr', '--file', file('lockr.json', JSON.stringify(items)), '--json'], env);
    expect(result.status, result.stderr).toBe(0);
    const lines = result.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(lines).toHaveLength(60);
    expect(result.stderr).toContain('60/60');
    const get = runCli(['keys', 'get', 'lockr/key59', '--wrapping-key-file', file('l59', lines[59].wrapping_key)], env);
    expect(get.stdout).toBe('legacy value 59');
  });

  it('refuses an unknown legacy prefix and stores nothing of that batch', () => {
    const items = [lockrItem('lockr/fine', 'v'), { name: 'lockr/old', ciphertext: 'AAAA', encoded: 'rijndael-256$abc' }];
    const result = runCli(['import', 'lockr', '--file', file('bad-lockr.json', JSON.stringify(items))], env);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('unsupported legacy format');
    expect(result.stderr).toContain('items[1]');
    const list = JSON.parse(runCli(['keys', 'list', '--json'], env).stdout);
    expect(list.keys.map((key: { name: string }) => key.name)).not.toContain('lockr/fine');
  });

  it('exports a passphrase bundle and imports it back', () => {
    const a = JSON.parse(runCli(['keys', 'set', 'move/a', '--value-file', file('ma', 'value A'), '--json'], env).stdout);
    const b = JSON.parse(runCli(['keys', 'set', 'move/b', '--value-file', file('mb', 'value B'), '--json'], env).stdout);
    const keks = file('keks.json', JSON.stringify({ 'move/a': a.wrapping_key, 'move/b': b.wrapping_key }));
    const pass = file('pass', 'correct horse battery staple\n');
    const out = join(work, 'bundle.json');
    const exported = runCli(['export', '--out', out, '--passphrase-file', pass, '--wrapping-keys-file', keks], env);
    expect(exported.status, exported.stderr).toBe(0);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    const bundle = JSON.parse(readFileSync(out, 'utf8'));
    expect(bundle.format).toBe('keybridge-export-1');
    expect(readFileSync(out, 'utf8')).not.toContain('value A');

    runCli(['keys', 'delete', 'move/a'], env);
    const imported = runCli(['import', 'bundle', '--file', out, '--passphrase-file', pass, '--json'], env);
    expect(imported.status, imported.stderr).toBe(0);
    const lines = imported.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    const newA = lines.find((line: { name: string }) => line.name === 'move/a');
    expect(runCli(['keys', 'get', 'move/a', '--wrapping-key-file', file('na', newA.wrapping_key)], env).stdout).toBe('value A');

    const wrong = runCli(['import', 'bundle', '--file', out, '--passphrase-file', file('wrong', 'not the passphrase at all')], env);
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toContain('bundle-decrypt-failed');
  });
});

describe('cert move', () => {
  it('moves a certificate directory safely and refuses a non-empty target', () => {
    const from = join(work, 'move-from');
    const to = join(work, 'move-to');
    expect(runCli(['cert', 'move', '--from', join(home, 'nope'), '--to', to], env).status).toBe(1);
    mkdirSync(join(work, 'occupied'));
    writeFileSync(join(work, 'occupied', 'x'), 'x');
    const occupied = runCli(['cert', 'move', '--from', join(home, 'certs'), '--to', join(work, 'occupied')], env);
    expect(occupied.status).toBe(1);
    expect(existsSync(join(home, 'certs', 'client.pem'))).toBe(true);
    // A copy of the live directory, so the running agent keeps its own.
    cpSync(join(home, 'certs'), from, { recursive: true });
    const before = readFileSync(join(from, 'client.pem'));
    const moved = runCli(['cert', 'move', '--from', from, '--to', to], env);
    expect(moved.status, moved.stderr).toBe(0);
    expect(existsSync(from)).toBe(false);
    expect(readFileSync(join(to, 'client.pem')).equals(before)).toBe(true);
    expect(statSync(to).mode & 0o777).toBe(0o700);
    expect(statSync(join(to, 'site.json')).mode & 0o777).toBe(0o600);
    cpSync(to, join(work, 'again'), { recursive: true });
    const refused = runCli(['cert', 'move', '--from', join(work, 'again'), '--to', to], env);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain('not empty');
    expect(existsSync(join(work, 'again', 'client.pem'))).toBe(true);
  });
});
