import { describe, expect, it } from 'vitest';
import { errorType } from '../../test-helpers/errors.ts';
import { fromBase64Url, toBase64Url } from './encoding.ts';
import { hkdfSha256, hmacSha256 } from './kdf.ts';
import { nameKey, opaqueKeyId, openText, sealText } from './ids.ts';
import { randomKey } from './random.ts';

const secret = new Uint8Array(32).map((_, i) => i);

describe('opaque key ids', () => {
  it('is hex HMAC-SHA256(site secret, environment 0x00 name)', () => {
    const expected = Buffer.from(hmacSha256(secret, Buffer.from('production\u0000smtp_password'))).toString('hex');
    expect(opaqueKeyId(secret, 'production', 'smtp_password')).toBe(expected);
    expect(opaqueKeyId(secret, 'production', 'smtp_password')).toMatch(/^[0-9a-f]{64}$/);
  });

  it('differs per environment, per name and per site secret', () => {
    const ids = new Set([
      opaqueKeyId(secret, 'development', 'api'),
      opaqueKeyId(secret, 'production', 'api'),
      opaqueKeyId(secret, 'production', 'api2'),
      opaqueKeyId(randomKey(32), 'production', 'api'),
    ]);
    expect(ids.size).toBe(4);
  });

  it('refuses an unknown environment, an empty name and a short secret', () => {
    expect(errorType(() => opaqueKeyId(secret, 'staging' as never, 'api'))).toBe('invalid-field');
    expect(errorType(() => opaqueKeyId(secret, 'production', ''))).toBe('invalid-field');
    expect(errorType(() => opaqueKeyId(new Uint8Array(8), 'production', 'api'))).toBe('invalid-field');
  });
});

describe('sealed names and labels', () => {
  it('derives the name key with HKDF-SHA256 (empty salt, info keybridge-names-1)', () => {
    const key = nameKey(secret);
    expect(key).toEqual(hkdfSha256(secret, new Uint8Array(0), Buffer.from('keybridge-names-1'), 32));
    expect(key).not.toEqual(nameKey(randomKey(32)));
  });

  it('round-trips names and labels, with a fresh nonce each time', () => {
    const key = nameKey(secret);
    const keyId = opaqueKeyId(secret, 'production', 'smtp');
    for (const text of ['smtp', '', 'Ünïcödé 🔑 label', 'x'.repeat(5000)]) {
      const sealed = sealText(key, text, 'label', keyId);
      expect(sealed).toMatch(/^[A-Za-z0-9_-]+$/);
      expect(openText(key, sealed, 'label', keyId)).toBe(text);
    }
    expect(sealText(key, 'smtp', 'name', keyId)).not.toBe(sealText(key, 'smtp', 'name', keyId));
  });

  it('binds a sealed name to its key id and purpose', () => {
    const key = nameKey(secret);
    const keyId = opaqueKeyId(secret, 'production', 'smtp');
    const otherId = opaqueKeyId(secret, 'development', 'smtp');
    const sealed = sealText(key, 'smtp', 'name', keyId);
    expect(openText(key, sealed, 'name', keyId)).toBe('smtp');
    expect(errorType(() => openText(key, sealed, 'name', otherId))).toBe('ciphertext-invalid');
    expect(errorType(() => openText(key, sealed, 'label', keyId))).toBe('ciphertext-invalid');
    expect(errorType(() => openText(nameKey(randomKey(32)), sealed, 'name', keyId))).toBe('ciphertext-invalid');
  });

  it('rejects malformed or tampered sealed text with ciphertext-invalid', () => {
    const key = nameKey(secret);
    const sealed = sealText(key, 'smtp', 'name', 'id');
    const raw = fromBase64Url(sealed);
    raw[raw.length - 1] ^= 1;
    for (const bad of ['', 'not base64!', sealed.slice(0, 20), sealed.slice(0, -1), toBase64Url(raw)]) {
      expect(
        errorType(() => openText(key, bad, 'name', 'id')),
        bad,
      ).toBe('ciphertext-invalid');
    }
  });
});
