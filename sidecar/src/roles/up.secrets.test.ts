import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { filesUnder } from '../../test-helpers/secret-scan.ts';
import { agentCaller } from '../../test-helpers/agent-caller.ts';
import { lockrItem } from '../../test-helpers/lockr-item.ts';
import { runCli, startUpProcess } from '../../test-helpers/up-process.ts';

/**
 * The promise every test defends: no secret value ever appears in a log, an error
 * message, a file on disk (storage, WAL, caches) or the key service. This test stores
 * values through every path (set, generate, rotate, Lockr import, bundle export/import,
 * failing calls that carry secrets), then scans every byte the processes printed and
 * every file under the home for each value — raw, base64 and hex — and for every KEK.
 */
const home = mkdtempSync(join(tmpdir(), 'kb-scan-'));
const work = mkdtempSync(join(tmpdir(), 'kb-scan-work-'));
afterAll(() => {
  rmSync(home, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
});

function needles(secret: string): string[] {
  const bytes = Buffer.from(secret, 'utf8');
  return [secret, bytes.toString('base64'), bytes.toString('base64url'), bytes.toString('hex')];
}

describe('secret scan', () => {
  it('finds no stored value or KEK in any log line or any file under the data dirs', async () => {
    const upProcess = await startUpProcess(home);
    const env = { KEYBRIDGE_HOME: home };
    const secrets: string[] = [];
    const keks: string[] = [];
    const file = (name: string, content: string) => {
      const path = join(work, name);
      writeFileSync(path, content);
      return path;
    };

    for (let i = 0; i < 10; i++) {
      const secret = `SCAN-SECRET-${i}-${Math.random().toString(36).slice(2)}`;
      secrets.push(secret);
      const set = runCli(['keys', 'set', `scan/${i}`, '--value-file', file(`v${i}`, secret), '--json'], env);
      expect(set.status, set.stderr).toBe(0);
      const kek = JSON.parse(set.stdout).wrapping_key;
      keks.push(kek);
      expect(runCli(['keys', 'get', `scan/${i}`, '--wrapping-key-file', file(`k${i}`, kek)], env).stdout).toBe(secret);
    }
    // Failing calls that carry a secret in their body: wrong KEK, malformed JSON, bad name.
    const caller = agentCaller(upProcess.url, { tokenFile: join(home, 'agent.token') });
    const post = (path: string, body: string) => caller.call('POST', path, body);
    const wrongKek = await post('/v1/keys/get', JSON.stringify({ name: 'scan/0', wrapping_key: keks[1] }));
    expect(wrongKek.text).not.toContain(keks[1]);
    const broken = await post('/v1/keys/set', `{"name": "scan/x", "value": "${secrets[2]}"`);
    expect(broken.text).not.toContain(secrets[2]);
    const badName = await post('/v1/keys/set', JSON.stringify({ name: '../x', value: secrets[3] }));
    expect(badName.text).not.toContain(secrets[3]);
    caller.close();

    // Rotation, Lockr import and a bundle round trip.
    const rotated = runCli(['keys', 'rotate', 'scan/4', '--wrapping-key-file', file('k4', keks[4]), '--json'], env);
    keks.push(JSON.parse(rotated.stdout).wrapping_key);
    const lockrSecret = `SCAN-LOCKR-${Math.random().toString(36).slice(2)}`;
    secrets.push(lockrSecret);
    const imported = runCli(
      ['import', 'lockr', '--file', file('lockr.json', JSON.stringify([lockrItem('scan/lockr', lockrSecret)])), '--json'],
      env,
    );
    expect(imported.status, imported.stderr).toBe(0);
    keks.push(JSON.parse(imported.stdout).wrapping_key);
    const bundlePath = join(work, 'bundle.json');
    const passphrase = file('pass', 'a long export passphrase');
    const keksFile = file('keks.json', JSON.stringify({ 'scan/5': keks[5], 'scan/6': keks[6] }));
    expect(runCli(['export', '--out', bundlePath, '--passphrase-file', passphrase, '--wrapping-keys-file', keksFile], env).status).toBe(0);
    expect(readFileSync(bundlePath, 'utf8')).not.toContain(secrets[5]);
    expect(runCli(['import', 'bundle', '--file', bundlePath, '--passphrase-file', passphrase], env).status).toBe(0);
    expect(runCli(['status'], env).status).toBe(0);

    // Scan while running (WAL still holds recent commits), then again after a clean stop.
    const scan = (label: string) => {
      const found: string[] = [];
      const sources = [
        { name: 'process output', bytes: Buffer.from(upProcess.output(), 'utf8') },
        ...filesUnder(home).map((path) => ({ name: path, bytes: readFileSync(path) })),
      ];
      for (const source of sources) {
        const haystack = source.bytes.toString('latin1');
        for (const secret of secrets) {
          for (const needle of needles(secret)) if (haystack.includes(needle)) found.push(`${label}: value in ${source.name}`);
        }
        for (const kek of keks) {
          if (haystack.includes(kek) || haystack.includes(kek.slice(4))) found.push(`${label}: KEK in ${source.name}`);
        }
      }
      return found;
    };
    expect(scan('running')).toEqual([]);
    expect(upProcess.output()).toContain('"path":"/v1/keys/set"'); // the log is there, and was scanned
    await upProcess.stop();
    expect(scan('stopped')).toEqual([]);
    // Names are not secret, but the key service holds them only sealed.
    const db = readFileSync(join(home, 'server', 'keybridge.db')).toString('latin1');
    expect(db).not.toContain('scan/1');
  });
});
