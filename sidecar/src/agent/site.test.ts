import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { errorType } from '../../test-helpers/errors.ts';
import { loadOrCreateSite, loadSite, siteFilePath } from './site.ts';
import { ensureTokenFile, readTokenFile, tokenMatches } from './token.ts';

const dir = mkdtempSync(join(tmpdir(), 'kb-site-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('site identity', () => {
  it('creates one site even when two agents start at once, private on disk', async () => {
    const certDir = join(dir, 'race', 'certs');
    const [a, b] = await Promise.all([loadOrCreateSite(certDir), loadOrCreateSite(certDir)]);
    expect(a.siteId).toBe(b.siteId);
    expect(Buffer.from(a.siteSecret).equals(Buffer.from(b.siteSecret))).toBe(true);
    expect(a.siteSecret).toHaveLength(32);
    expect(statSync(certDir).mode & 0o777).toBe(0o700);
    expect(statSync(siteFilePath(certDir)).mode & 0o777).toBe(0o600);
    const again = await loadOrCreateSite(certDir);
    expect(again.siteId).toBe(a.siteId);
  });

  it('refuses a site file others can read, or one that is malformed, naming the field', async () => {
    const certDir = join(dir, 'bad', 'certs');
    await loadOrCreateSite(certDir);
    chmodSync(siteFilePath(certDir), 0o644);
    expect(errorType(() => loadSite(certDir))).toBe('config-invalid');
    chmodSync(siteFilePath(certDir), 0o600);
    const site = JSON.parse(readFileSync(siteFilePath(certDir), 'utf8'));
    writeFileSync(siteFilePath(certDir), JSON.stringify({ ...site, environment: 'staging' }));
    expect(() => loadSite(certDir)).toThrow(/environment/);
    writeFileSync(siteFilePath(certDir), '{not json');
    expect(() => loadSite(certDir)).toThrow(/not valid JSON/);
  });
});

describe('agent token file', () => {
  it('is created 0600 once and reused', async () => {
    const file = join(dir, 'agent.token');
    const [a, b] = await Promise.all([ensureTokenFile(file), ensureTokenFile(file)]);
    expect(a).toBe(b);
    expect(a).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(tokenMatches(a, a)).toBe(true);
    expect(tokenMatches(a, `${a}x`)).toBe(false);
  });

  it('refuses a token file that others can read, that is missing or that holds no token', () => {
    const open = join(dir, 'open.token');
    writeFileSync(open, `${'A'.repeat(43)}\n`, { mode: 0o644 });
    chmodSync(open, 0o644);
    expect(() => readTokenFile(open)).toThrow(/chmod 600/);
    expect(() => readTokenFile(join(dir, 'missing.token'))).toThrow(/does not exist/);
    const junk = join(dir, 'junk.token');
    writeFileSync(junk, 'short', { mode: 0o600 });
    expect(() => readTokenFile(junk)).toThrow(/does not hold a keybridge token/);
  });
});
