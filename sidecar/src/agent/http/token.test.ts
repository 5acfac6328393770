import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureTokenFile, readTokenFile, tokenVerifier } from './token.ts';

const dir = mkdtempSync(join(tmpdir(), 'kb-token-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('agent token file', () => {
  it('is created 0600 once and reused', async () => {
    const file = join(dir, 'agent.token');
    const [a, b] = await Promise.all([ensureTokenFile(file), ensureTokenFile(file)]);
    expect(a).toBe(b);
    expect(a).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(tokenVerifier(a)(a)).toBe(true);
    expect(tokenVerifier(a)(`${a}x`)).toBe(false);
  });

  it('matches only the exact token: same length, one character off, shorter, multi-byte', () => {
    const token = 'A'.repeat(42) + 'b';
    const matches = tokenVerifier(token);
    expect(matches(token)).toBe(true);
    expect(matches('A'.repeat(42) + 'c')).toBe(false);
    expect(matches('B' + 'A'.repeat(41) + 'b')).toBe(false);
    expect(matches('A'.repeat(42))).toBe(false);
    expect(matches('')).toBe(false);
    // 43 characters but more bytes, and a string whose UTF-8 is as long as the token's.
    expect(matches('é' + 'A'.repeat(41) + 'b')).toBe(false);
    expect(matches('é' + 'A'.repeat(40) + 'b')).toBe(false);
    // A refused attempt leaves nothing behind that a later check could match on.
    expect(matches(token)).toBe(true);
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
