import { scrypt } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { KeybridgeError } from '../errors.ts';
import { hashPassword, passwordNeedsRehash, verifyPassword } from './password.ts';

const PASSWORD = 'correct horse battery staple';

async function problem(promise: Promise<unknown>): Promise<[string, string | undefined]> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof KeybridgeError) return [error.type, error.field];
    throw error;
  }
  return ['no error', undefined];
}

/** An encoding made by hand at a lower cost, as an older keybridge might have stored it. */
function legacyHash(password: string, log2N: number): Promise<string> {
  const salt = Buffer.alloc(16, 7);
  return new Promise((resolve, reject) =>
    scrypt(password, salt, 32, { N: 2 ** log2N, r: 8, p: 1 }, (error, key) =>
      error ? reject(error) : resolve(`scrypt$${log2N}$8$1$${salt.toString('base64')}$${key.toString('base64')}`),
    ),
  );
}

describe('password hashing', () => {
  it('encodes the cost (N = 2^17, r = 8, p = 1), a 16-byte salt and a 32-byte hash; verifies right and wrong', async () => {
    const encoded = await hashPassword(PASSWORD);
    const [name, n, r, p, salt, hash] = encoded.split('$');
    expect([name, n, r, p]).toEqual(['scrypt', '17', '8', '1']);
    expect(Buffer.from(salt!, 'base64')).toHaveLength(16);
    expect(Buffer.from(hash!, 'base64')).toHaveLength(32);
    expect(await verifyPassword(PASSWORD, encoded)).toBe(true);
    expect(await verifyPassword(`${PASSWORD}!`, encoded)).toBe(false);
    expect(await verifyPassword('Correct horse battery staple', encoded)).toBe(false);
    expect(passwordNeedsRehash(encoded)).toBe(false);
  });

  it('salts: the same password hashes differently each time', async () => {
    const [a, b] = await Promise.all([hashPassword(PASSWORD), hashPassword(PASSWORD)]);
    expect(a).not.toBe(b);
  });

  it('wants 12 to 1024 characters (code points), field "password"', async () => {
    expect(await problem(hashPassword('elevenchars'))).toEqual(['invalid-field', 'password']);
    expect(await problem(hashPassword('x'.repeat(1025)))).toEqual(['invalid-field', 'password']);
    expect(await problem(hashPassword(42 as unknown as string))).toEqual(['invalid-field', 'password']);
    // Twelve emoji are twelve characters, though 24 UTF-16 units.
    expect(await verifyPassword('🔑'.repeat(12), await hashPassword('🔑'.repeat(12)))).toBe(true);
  });

  it('reads a password of the wrong length as simply wrong when verifying, without hashing', async () => {
    const encoded = await legacyHash(PASSWORD, 14);
    expect(await verifyPassword('short', encoded)).toBe(false);
    expect(await verifyPassword('x'.repeat(2000), encoded)).toBe(false);
  });

  it('reads the cost from the encoding, so older hashes verify and report that they need a re-hash', async () => {
    const encoded = await legacyHash(PASSWORD, 14);
    expect(await verifyPassword(PASSWORD, encoded)).toBe(true);
    expect(await verifyPassword('wrong password!', encoded)).toBe(false);
    expect(passwordNeedsRehash(encoded)).toBe(true);
  });

  it('treats composed and decomposed accents alike (NFKC)', async () => {
    const composed = 'pässwörd-\u00e9t\u00e9-2024';
    const decomposed = composed.normalize('NFD');
    expect(decomposed).not.toBe(composed);
    expect(await verifyPassword(decomposed, await hashPassword(composed))).toBe(true);
  });

  it('throws storage-corrupt for a stored value it could not have written, including absurd costs', async () => {
    const good = await legacyHash(PASSWORD, 14);
    const parts = good.split('$');
    const bad = [
      '',
      'plain',
      good.replace('scrypt', 'bcrypt'),
      parts.slice(0, 5).join('$'),
      ['scrypt', '30', ...parts.slice(2)].join('$'),
      ['scrypt', '14', '8', '1', 'AAAA', parts[5]].join('$'),
      ['scrypt', '014', ...parts.slice(2)].join('$'),
      `${good}$extra`,
    ];
    for (const encoded of bad) expect(await problem(verifyPassword(PASSWORD, encoded)), encoded).toEqual(['storage-corrupt', undefined]);
    expect(passwordNeedsRehash('plain')).toBe(true);
  });

  it('runs off the event loop', async () => {
    let ticks = 0;
    const timer = setInterval(() => (ticks += 1), 5);
    try {
      await hashPassword(PASSWORD);
    } finally {
      clearInterval(timer);
    }
    expect(ticks).toBeGreaterThan(0);
  });
});
