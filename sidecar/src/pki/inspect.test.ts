import { createHash, X509Certificate } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { errorType } from '../../test-helpers/errors.ts';
import { createCertificateAuthority, issueCertificate, type CertificateAuthority } from './ca.ts';
import { environmentOf, inspectCertificate, matchesPrivateKey, verifyCertificate, type CertificateInfo } from './inspect.ts';
import { generateKeyPair } from './keys.ts';
import { clientCert, DAY, HOUR, selfSignedCert, testCa, type Issued } from '../../test-helpers/pki-fixtures.ts';

let ca: CertificateAuthority;
let dev: Issued;
const MINUTE = 60_000;

/** The PEM with one bit flipped `fromEnd` bytes before the end of its DER (the signature is last). */
function flipDerByte(pem: string, fromEnd: number): string {
  const der = new X509Certificate(pem).raw;
  der[der.length - fromEnd] ^= 0x01;
  return `-----BEGIN CERTIFICATE-----\n${der
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .trimEnd()}\n-----END CERTIFICATE-----\n`;
}

beforeAll(() => {
  ca = testCa();
  dev = clientCert(ca, { siteId: 'site-1', environment: 'development', serialHex: '0A1B2C' });
});

describe('inspectCertificate', () => {
  it('reads serial, subject, issuer, validity, fingerprint, key and CA flag', () => {
    const info = inspectCertificate(dev.certPem);
    const x509 = new X509Certificate(dev.certPem);
    expect(info.serialHex).toBe('a1b2c');
    expect(info.subject).toEqual({ commonName: 'site-1', organizationalUnit: 'development' });
    expect(info.issuer).toEqual({ commonName: 'keybridge test CA' });
    expect(info.notBefore).toBeInstanceOf(Date);
    expect(info.notAfter.getTime() - info.notBefore.getTime()).toBe(30 * DAY + HOUR);
    expect(info.fingerprintSha256).toBe(createHash('sha256').update(x509.raw).digest('hex'));
    expect(info.publicKeyPem).toBe(dev.keyPair.publicKeyPem);
    expect(info.isCa).toBe(false);
    expect(inspectCertificate(ca.certPem).isCa).toBe(true);
  });

  it('finds the certificate in a file that also holds its key (a platform binding.pem)', () => {
    expect(inspectCertificate(`${dev.keyPair.privateKeyPem}${dev.certPem}`).serialHex).toBe('a1b2c');
  });

  it('reads the exact DER bytes as it reads the PEM, and refuses DER with a byte added, cut or nothing at all', () => {
    const der = new X509Certificate(dev.certPem).raw;
    expect(inspectCertificate(der)).toEqual(inspectCertificate(dev.certPem));
    expect(inspectCertificate(new Uint8Array(der))).toEqual(inspectCertificate(dev.certPem));
    for (const bad of [Buffer.concat([der, Buffer.from([0])]), der.subarray(0, der.length - 1), Buffer.alloc(0), Buffer.alloc(20_000)]) {
      expect(errorType(() => inspectCertificate(bad))).toBe('certificate-invalid');
    }
  });

  it('throws certificate-invalid on garbage', () => {
    for (const bad of ['', 'garbage', dev.keyPair.publicKeyPem, '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----', 7]) {
      expect(errorType(() => inspectCertificate(bad as string))).toBe('certificate-invalid');
    }
  });
});

describe('environmentOf', () => {
  const withOu = (organizationalUnit?: string): CertificateInfo => ({
    ...inspectCertificate(dev.certPem),
    subject: { commonName: 's', organizationalUnit },
  });
  it('reads the OU exactly', () => {
    expect(environmentOf(withOu('development'))).toBe('development');
    expect(environmentOf(withOu('production'))).toBe('production');
    for (const ou of ['Production', 'production ', 'prod', 'live', '', undefined]) expect(environmentOf(withOu(ou))).toBeNull();
  });

  it('reads it back from issued certificates', () => {
    const prod = clientCert(ca, { environment: 'production' });
    expect(environmentOf(inspectCertificate(prod.certPem))).toBe('production');
    expect(environmentOf(inspectCertificate(dev.certPem))).toBe('development');
    expect(environmentOf(inspectCertificate(ca.certPem))).toBeNull();
  });
});

describe('matchesPrivateKey', () => {
  it('is true for the certificate’s own key only, false on garbage', () => {
    expect(matchesPrivateKey(dev.certPem, dev.keyPair.privateKeyPem)).toBe(true);
    expect(matchesPrivateKey(dev.certPem, generateKeyPair().privateKeyPem)).toBe(false);
    expect(matchesPrivateKey(dev.certPem, 'nope')).toBe(false);
    expect(matchesPrivateKey('nope', dev.keyPair.privateKeyPem)).toBe(false);
  });
});

describe('verifyCertificate', () => {
  const now = () => new Date();

  it('accepts a certificate of this CA and returns its info', () => {
    const result = verifyCertificate(dev.certPem, ca.certPem, now());
    expect(result).toEqual({ ok: true, info: inspectCertificate(dev.certPem) });
  });

  it('says wrong-issuer for another CA, even one with the same name (the authority key id differs)', () => {
    const other = createCertificateAuthority({ commonName: 'another CA', validityDays: 60 });
    const twin = createCertificateAuthority({ commonName: 'keybridge test CA', validityDays: 60 });
    expect(verifyCertificate(clientCert(other).certPem, ca.certPem, now())).toEqual({ ok: false, reason: 'wrong-issuer' });
    expect(verifyCertificate(clientCert(twin).certPem, ca.certPem, now())).toEqual({ ok: false, reason: 'wrong-issuer' });
  });

  it('says self-signed for a self-signed leaf and for the CA certificate itself', () => {
    expect(verifyCertificate(selfSignedCert().certPem, ca.certPem, now())).toEqual({ ok: false, reason: 'self-signed' });
    expect(verifyCertificate(ca.certPem, ca.certPem, now())).toEqual({ ok: false, reason: 'self-signed' });
  });

  it('says bad-signature when the body claims this CA but the signature does not verify', () => {
    expect(verifyCertificate(flipDerByte(dev.certPem, 1), ca.certPem, now())).toEqual({ ok: false, reason: 'bad-signature' });
  });

  it('says expired and not-yet-valid outside the validity, tolerating five minutes of clock skew by default', () => {
    const t = Date.now();
    const expired = clientCert(ca, { notBefore: new Date(t - 10 * DAY), notAfter: new Date(t - DAY) });
    const future = clientCert(ca, { notBefore: new Date(t + DAY), notAfter: new Date(t + 10 * DAY) });
    expect(verifyCertificate(expired.certPem, ca.certPem, now())).toEqual({ ok: false, reason: 'expired' });
    expect(verifyCertificate(future.certPem, ca.certPem, now())).toEqual({ ok: false, reason: 'not-yet-valid' });

    const endsSoon = clientCert(ca, { notBefore: new Date(t - DAY), notAfter: new Date(t + MINUTE) });
    const at = (ms: number) => new Date(inspectCertificate(endsSoon.certPem).notAfter.getTime() + ms);
    expect(verifyCertificate(endsSoon.certPem, ca.certPem, at(3 * MINUTE)).ok).toBe(true);
    expect(verifyCertificate(endsSoon.certPem, ca.certPem, at(6 * MINUTE))).toEqual({ ok: false, reason: 'expired' });
    expect(verifyCertificate(endsSoon.certPem, ca.certPem, at(1000), { clockSkewMs: 0 })).toEqual({ ok: false, reason: 'expired' });

    // A re-issue names its site with an old certificate: expiry may be waived, nothing else.
    expect(verifyCertificate(expired.certPem, ca.certPem, now(), { allowExpired: true }).ok).toBe(true);
    expect(verifyCertificate(future.certPem, ca.certPem, now(), { allowExpired: true })).toEqual({ ok: false, reason: 'not-yet-valid' });

    const startsSoon = clientCert(ca, { notBefore: new Date(t + 3 * MINUTE), notAfter: new Date(t + DAY) });
    expect(verifyCertificate(startsSoon.certPem, ca.certPem, new Date(t)).ok).toBe(true);
    expect(verifyCertificate(startsSoon.certPem, ca.certPem, new Date(t), { clockSkewMs: MINUTE })).toEqual({
      ok: false,
      reason: 'not-yet-valid',
    });
  });

  it('says malformed for garbage, and throws config-invalid for a CA that is not one', () => {
    expect(verifyCertificate('garbage', ca.certPem, now())).toEqual({ ok: false, reason: 'malformed' });
    expect(errorType(() => verifyCertificate(dev.certPem, 'garbage', now()))).toBe('config-invalid');
    expect(errorType(() => verifyCertificate(dev.certPem, dev.certPem, now()))).toBe('config-invalid');
  });

  it('checks issuance, not key usage: a server certificate of this CA verifies (TLS enforces usage)', () => {
    const server = issueCertificate(ca, {
      publicKeyPem: dev.keyPair.publicKeyPem,
      subject: { commonName: 'localhost' },
      notBefore: new Date(Date.now() - HOUR),
      notAfter: new Date(Date.now() + DAY),
      usage: 'server',
      dnsNames: ['localhost'],
    });
    expect(verifyCertificate(server, ca.certPem, now()).ok).toBe(true);
  });
});
