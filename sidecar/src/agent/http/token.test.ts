import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureTokenFile, readTokenFile } from './token.ts';

const dir = mkdtempSync(join(tmpdir(), 'kb-token-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('agent token file', () => {
  it('is created 0600 once and reused', async () => {
    const file = join(dir, 'agent.token');
    const [a, b] = await Promise.all([ensureTokenFile(file), ensureTokenFile(file)]);
    expect(a).toBe(b);
    expect(a).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(statSync(file).mode & 0o777).toBe(0o600);
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
