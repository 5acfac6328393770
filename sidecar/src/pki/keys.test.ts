import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { errorType } from '../../test-helpers/errors.ts';
import { checkRsaPublicKey, generateKeyPair, generateKeyPairAsync, publicKeyPemFromPrivate } from './keys.ts';
import { rejectionType } from '../../test-helpers/pki-fixtures.ts';

describe('key pairs', () => {
  it('makes RSA-2048 by default, PKCS#8 and SPKI PEM, halves that belong together', () => {
    const pair = generateKeyPair();
    expect(pair.privateKeyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(pair.publicKeyPem).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);
    const key = createPrivateKey(pair.privateKeyPem);
    expect(key.asymmetricKeyType).toBe('rsa');
    expect(key.asymmetricKeyDetails?.modulusLength).toBe(2048);
    expect(key.asymmetricKeyDetails?.publicExponent).toBe(65537n);
    expect(publicKeyPemFromPrivate(pair.privateKeyPem)).toBe(pair.publicKeyPem);
    expect(generateKeyPair().privateKeyPem).not.toBe(pair.privateKeyPem);
  });

  it('refuses sizes below 2048, above 8192 or not whole bytes', async () => {
    for (const bits of [1024, 2047, 2049, 16384, Number.NaN]) expect(errorType(() => generateKeyPair(bits))).toBe('invalid-field');
    expect(await rejectionType(generateKeyPairAsync(1024))).toBe('invalid-field');
  });

  it('has an async variant that leaves the event loop free', async () => {
    let ticked = false;
    setImmediate(() => (ticked = true));
    const pair = await generateKeyPairAsync(3072);
    expect(ticked).toBe(true);
    expect(createPublicKey(pair.publicKeyPem).asymmetricKeyDetails?.modulusLength).toBe(3072);
  });

  it('checkRsaPublicKey refuses small RSA, EC and private keys', () => {
    const small = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey;
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
    expect(() => checkRsaPublicKey(small)).toThrow(/1024 bits/);
    expect(() => checkRsaPublicKey(ec)).toThrow(/not an RSA public key/);
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    expect(() => checkRsaPublicKey(privateKey)).toThrow(/not an RSA public key/);
    expect(checkRsaPublicKey(publicKey)).toBe(publicKey);
  });
});
