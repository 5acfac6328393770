import { spawnSync } from 'node:child_process';
import { createPublicKey, X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import forge from 'node-forge';
import { beforeAll, describe, expect, it } from 'vitest';
import { createCertificateAuthority, issueCertificate, type CertificateAuthority, type IssueOptions } from './ca.ts';
import { createCsr, parseCsr } from './csr.ts';
import { environmentOf, inspectCertificate, matchesPrivateKey } from './inspect.ts';
import { generateKeyPair } from './keys.ts';
import { DAY, HOUR, testCa, thrown } from '../../test-helpers/pki-fixtures.ts';

type Ext = Record<string, unknown>;
const ext = (pem: string, name: string) => forge.pki.certificateFromPem(pem).getExtension(name) as Ext | undefined;

let ca: CertificateAuthority;
const leafKey = generateKeyPair();
const now = new Date();
const base = (): IssueOptions => ({
  publicKeyPem: leafKey.publicKeyPem,
  subject: { commonName: 'site-1', organizationalUnit: 'development' },
  notBefore: new Date(now.getTime() - HOUR),
  notAfter: new Date(now.getTime() + 90 * DAY),
  usage: 'client',
});

beforeAll(() => {
  ca = testCa();
});

describe('certificate authority', () => {
  it('is a self-signed RSA-3072 root: CA:true (pathLen 0) and keyCertSign + cRLSign, both critical', () => {
    const x509 = new X509Certificate(ca.certPem);
    expect(x509.ca).toBe(true);
    expect(x509.verify(x509.publicKey)).toBe(true);
    expect(x509.checkIssued(x509)).toBe(true);
    expect(x509.publicKey.asymmetricKeyDetails?.modulusLength).toBe(3072);
    expect(ext(ca.certPem, 'basicConstraints')).toMatchObject({ cA: true, pathLenConstraint: 0, critical: true });
    expect(ext(ca.certPem, 'keyUsage')).toMatchObject({ keyCertSign: true, cRLSign: true, digitalSignature: false, critical: true });
    expect(ext(ca.certPem, 'subjectKeyIdentifier')).toBeDefined();
    expect(ca.keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(forge.pki.certificateFromPem(ca.certPem).signatureOid).toBe(forge.pki.oids.sha256WithRSAEncryption);
  });

  it('honours validityDays and now, backdating notBefore five minutes for slow clocks', () => {
    const info = inspectCertificate(ca.certPem);
    expect(info.isCa).toBe(true);
    expect(info.subject).toEqual({ commonName: 'keybridge test CA' });
    expect(Math.abs(info.notAfter.getTime() - (Date.now() + 3650 * DAY))).toBeLessThan(60_000);
    expect(Date.now() - info.notBefore.getTime()).toBeGreaterThanOrEqual(5 * 60_000 - 1000);
  });

  it('issues a client certificate that node:crypto verifies against the CA', () => {
    const pem = issueCertificate(ca, base());
    const leaf = new X509Certificate(pem);
    const root = new X509Certificate(ca.certPem);
    expect(leaf.verify(root.publicKey)).toBe(true);
    expect(leaf.checkIssued(root)).toBe(true); // "leaf was issued by root"
    expect(leaf.ca).toBe(false);
    expect(leaf.keyUsage).toEqual(['1.3.6.1.5.5.7.3.2']); // node names extKeyUsage "keyUsage": clientAuth only
    expect(leaf.subjectAltName).toBeUndefined();
    expect(ext(pem, 'basicConstraints')).toMatchObject({ cA: false, critical: true });
    expect(ext(pem, 'keyUsage')).toMatchObject({ digitalSignature: true, keyEncipherment: true, keyCertSign: false, critical: true });
    const aki = forge.pki.certificateFromPem(pem).extensions.find((e: Ext) => e.name === 'authorityKeyIdentifier') as Ext;
    expect(aki).toBeDefined();
    expect(forge.util.bytesToHex((forge.asn1.fromDer(aki.value as string).value as forge.asn1.Asn1[])[0]!.value as string)).toBe(
      (ext(ca.certPem, 'subjectKeyIdentifier') as Ext).subjectKeyIdentifier,
    );
    expect(ext(pem, 'subjectKeyIdentifier')).toBeDefined();
    expect(forge.pki.certificateFromPem(pem).signatureOid).toBe(forge.pki.oids.sha256WithRSAEncryption);
    const info = inspectCertificate(pem);
    expect(info.subject).toEqual({ commonName: 'site-1', organizationalUnit: 'development' });
    expect(info.issuer).toEqual({ commonName: 'keybridge test CA' });
    expect(info.publicKeyPem).toBe(leafKey.publicKeyPem);
    expect(info.notAfter.getTime()).toBe(Math.floor(base().notAfter.getTime() / 1000) * 1000);
  });

  it('issues a server certificate with subjectAltName and serverAuth', () => {
    const pem = issueCertificate(ca, {
      ...base(),
      usage: 'server',
      subject: { commonName: 'keys.example.org' },
      dnsNames: ['keys.example.org', 'localhost'],
      ipAddresses: ['127.0.0.1', '::1'],
    });
    const leaf = new X509Certificate(pem);
    expect(leaf.verify(new X509Certificate(ca.certPem).publicKey)).toBe(true);
    expect(leaf.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1']);
    expect(leaf.checkHost('keys.example.org')).toBe('keys.example.org');
    expect(leaf.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(leaf.checkIP('::1')).toBe('::1');
    expect(leaf.checkHost('evil.example.org')).toBeUndefined();
  });

  it('writes the subject it is given, never the CSR’s: a CSR claiming OU=production gets a development certificate', () => {
    const csr = parseCsr(createCsr(leafKey, { commonName: 'site-2', organizationalUnit: 'production' }));
    expect(csr.subject.organizationalUnit).toBe('production'); // reported…
    const pem = issueCertificate(ca, { ...base(), publicKeyPem: csr.publicKeyPem }); // …but only the key is used
    const info = inspectCertificate(pem);
    expect(info.subject).toEqual({ commonName: 'site-1', organizationalUnit: 'development' });
    expect(environmentOf(info)).toBe('development');
  });

  it('uses a given serial (canonical form, 00-padded when the top bit is set) or a random one', () => {
    expect(inspectCertificate(issueCertificate(ca, { ...base(), serialHex: '00FF01' })).serialHex).toBe('ff01');
    const a = inspectCertificate(issueCertificate(ca, base())).serialHex;
    const b = inspectCertificate(issueCertificate(ca, base())).serialHex;
    expect(a).not.toBe(b);
    expect(a).toMatch(/^[1-9a-f][0-9a-f]{20,31}$/);
  });

  it('refuses bad options with invalid-field naming the option', () => {
    const cases: Array<[Partial<IssueOptions> & Record<string, unknown>, string]> = [
      [{ notAfter: new Date(now.getTime() - 2 * HOUR) }, 'notAfter'],
      [{ notAfter: new Date(now.getTime() + 3651 * DAY) }, 'notAfter'], // past the CA's own expiry
      [{ notBefore: new Date(Number.NaN) }, 'notBefore'],
      [{ usage: 'both' as never }, 'usage'],
      [{ serialHex: '0' }, 'serialHex'],
      [{ serialHex: 'zz' }, 'serialHex'],
      [{ subject: { commonName: '' } }, 'commonName'],
      [{ subject: { commonName: 'site-1', organizationalUnit: 'a,OU=production' } }, 'organizationalUnit'],
      [{ dnsNames: ['localhost'] }, 'dnsNames'], // client certificates carry none
      [{ usage: 'server' }, 'dnsNames'], // server certificates need one
      [{ usage: 'server', dnsNames: ['bad host'] }, 'dnsNames'],
      [{ usage: 'server', ipAddresses: ['300.1.1.1'] }, 'ipAddresses'],
      [{ publicKeyPem: 'nonsense' }, 'publicKeyPem'],
      [{ publicKeyPem: createPublicKey(generateKeyPair().privateKeyPem).export({ type: 'pkcs1', format: 'pem' }) as string }, 'no error'],
    ];
    for (const [change, fieldName] of cases) {
      if (fieldName === 'no error') {
        expect(() => issueCertificate(ca, { ...base(), ...change })).not.toThrow(); // PKCS#1 public keys are fine too
        continue;
      }
      const error = thrown(() => issueCertificate(ca, { ...base(), ...change }));
      expect([error.type, error.field], JSON.stringify(change)).toEqual(['invalid-field', fieldName]);
    }
  });

  it('refuses a CA whose key is not the certificate’s (config-invalid)', () => {
    const wrong = { certPem: ca.certPem, keyPem: generateKeyPair().privateKeyPem };
    expect(thrown(() => issueCertificate(wrong, base())).type).toBe('config-invalid');
    expect(thrown(() => issueCertificate({ certPem: 'x', keyPem: 'y' }, base())).type).toBe('config-invalid');
  });

  it('keeps a non-ASCII CA name byte-identical in the issuer of its leaves', () => {
    const umlaut = createCertificateAuthority({ commonName: 'Schlüssel-CA München', validityDays: 30, now });
    const pem = issueCertificate(umlaut, { ...base(), notAfter: new Date(now.getTime() + 10 * DAY) });
    expect(new X509Certificate(pem).checkIssued(new X509Certificate(umlaut.certPem))).toBe(true);
    expect(inspectCertificate(pem).issuer.commonName).toBe('Schlüssel-CA München');
  });

  it('refuses bad CA options', () => {
    expect(thrown(() => createCertificateAuthority({ commonName: 'x', validityDays: 0 })).field).toBe('validityDays');
    expect(thrown(() => createCertificateAuthority({ commonName: '', validityDays: 1 })).field).toBe('commonName');
  });

  it.skipIf(spawnSync('openssl', ['version']).status !== 0)('passes `openssl verify` with the TLS client and server purposes', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kb-ca-'));
    try {
      writeFileSync(join(dir, 'ca.pem'), ca.certPem);
      writeFileSync(join(dir, 'client.pem'), issueCertificate(ca, base()));
      writeFileSync(join(dir, 'server.pem'), issueCertificate(ca, { ...base(), usage: 'server', dnsNames: ['localhost'] }));
      const verify = (file: string, purpose: string) =>
        spawnSync('openssl', ['verify', '-x509_strict', '-purpose', purpose, '-CAfile', join(dir, 'ca.pem'), join(dir, file)], {
          encoding: 'utf8',
        });
      expect(verify('client.pem', 'sslclient').status).toBe(0);
      expect(verify('server.pem', 'sslserver').status).toBe(0);
      expect(verify('client.pem', 'sslserver').status).not.toBe(0);
      expect(verify('server.pem', 'sslclient').status).not.toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  // The time this takes (target < 300 ms) is measured by `npm run bench` (bench/keyservice, section cert).
  it('makes a fresh 2048-bit key + CSR and issues a certificate for exactly that key (the registration path)', () => {
    const keyPair = generateKeyPair();
    const csr = parseCsr(createCsr(keyPair, { commonName: 'site-1' }));
    const pem = issueCertificate(ca, { ...base(), publicKeyPem: csr.publicKeyPem });
    const leaf = new X509Certificate(pem);
    expect(leaf.publicKey.asymmetricKeyDetails?.modulusLength).toBe(2048);
    expect(leaf.publicKey.equals(createPublicKey(keyPair.publicKeyPem))).toBe(true);
    expect(matchesPrivateKey(pem, keyPair.privateKeyPem)).toBe(true);
    expect(matchesPrivateKey(pem, leafKey.privateKeyPem)).toBe(false);
    expect(leaf.verify(new X509Certificate(ca.certPem).publicKey)).toBe(true);
  });
});
