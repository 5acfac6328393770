import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decodeKek, generateKek, unwrapValue, wrapValue, type Kb1Context } from '../../crypto/index.ts';
import { PreparedCiphertexts } from './prepared-ciphertexts.ts';

/** The two-step open answers exactly as unwrapValue does: same plaintexts, same refusals. */
interface Vector {
  kek: string;
  site_id: string;
  environment: 'development' | 'production';
  key_id: string;
  plaintext_hex: string;
  ciphertext: string;
}
const vectors = (JSON.parse(readFileSync(new URL('../../crypto/kb1.vectors.json', import.meta.url), 'utf8')) as { vectors: Vector[] })
  .vectors;

/** What a call throws, as (type, detail), or the bytes it returns. */
function outcome(call: () => Uint8Array): string {
  try {
    return `ok ${Buffer.from(call()).toString('hex')}`;
  } catch (error) {
    const { type, detail } = error as { type?: string; detail?: string };
    return `error ${type} ${detail}`;
  }
}

describe('PreparedCiphertexts.open', () => {
  it('opens every kb1 vector (made by PHP) like unwrapValue, twice (prepared, then reused)', () => {
    const prepared = new PreparedCiphertexts();
    for (const v of vectors) {
      const ctx: Kb1Context = { siteId: v.site_id, environment: v.environment, keyId: v.key_id };
      const record = { ciphertext: v.ciphertext };
      for (let round = 0; round < 2; round++) {
        expect(Buffer.from(prepared.open(decodeKek(v.kek), record, ctx)).toString('hex')).toBe(v.plaintext_hex);
      }
    }
  });

  it('refuses what unwrapValue refuses, with the same problem: wrong KEK, other context, tampered, truncated, not kb1', () => {
    const kek = generateKek();
    const ctx: Kb1Context = { siteId: 'site-1', environment: 'development', keyId: 'ab'.repeat(32) };
    const ciphertext = wrapValue(kek, new TextEncoder().encode('secret'), ctx);
    const flipped = ciphertext.slice(0, -2) + (ciphertext.at(-2) === 'A' ? 'B' : 'A') + ciphertext.at(-1);
    const cases: [Uint8Array, string, Kb1Context][] = [
      [generateKek(), ciphertext, ctx],
      [kek, ciphertext, { ...ctx, siteId: 'site-2' }],
      [kek, ciphertext, { ...ctx, environment: 'production' }],
      [kek, ciphertext, { ...ctx, keyId: 'cd'.repeat(32) }],
      [kek, ciphertext, { ...ctx, siteId: '' }],
      [kek, flipped, ctx],
      [kek, ciphertext.slice(0, 20), ctx],
      [kek, `x${ciphertext}`, ctx],
      [kek, 'kb1.not*base64', ctx],
    ];
    for (const [key, text, context] of cases) {
      const prepared = new PreparedCiphertexts();
      const expected = outcome(() => unwrapValue(key, text, context));
      expect(expected).toMatch(/^error /);
      expect(outcome(() => prepared.open(key, { ciphertext: text }, context))).toBe(expected);
    }
  });

  it('does not reuse a record prepared for another context', () => {
    const kek = generateKek();
    const ctx: Kb1Context = { siteId: 'site-1', environment: 'development', keyId: 'ab'.repeat(32) };
    const record = { ciphertext: wrapValue(kek, new TextEncoder().encode('v'), ctx) };
    const prepared = new PreparedCiphertexts();
    expect(Buffer.from(prepared.open(kek, record, ctx)).toString()).toBe('v');
    for (const other of [
      { ...ctx, siteId: 'site-2' },
      { ...ctx, environment: 'production' as const },
      { ...ctx, keyId: 'cd'.repeat(32) },
    ]) {
      expect(() => prepared.open(kek, record, other)).toThrow(expect.objectContaining({ type: 'ciphertext-invalid' }));
    }
    expect(Buffer.from(prepared.open(kek, record, ctx)).toString()).toBe('v');
  });
});
