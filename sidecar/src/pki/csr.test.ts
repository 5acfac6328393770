import { execFileSync, spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import forge from 'node-forge';
import { describe, expect, it } from 'vitest';
import { errorType } from '../../test-helpers/errors.ts';
import { createCsr, MAX_CSR_BYTES, parseCsr } from './csr.ts';
import { generateKeyPair } from './keys.ts';

const pair = generateKeyPair();
const subject = { commonName: 'site-1', country: 'DE', state: 'Bayern', locality: 'München', organization: 'Müller GmbH' };

/** A PEM body with one byte of its DER changed at `offset` from the end. */
function flipByte(pem: string, fromEnd: number): string {
  const der = Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
  der[der.length - fromEnd] ^= 0x01;
  const body = der
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .trimEnd();
  return `-----BEGIN CERTIFICATE REQUEST-----\n${body}\n-----END CERTIFICATE REQUEST-----\n`;
}

function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

// Made once with: openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -subj "/CN=site-ec/OU=production"
const EC_CSR = `-----BEGIN CERTIFICATE REQUEST-----
MIHiMIGJAgEAMCcxEDAOBgNVBAMMB3NpdGUtZWMxEzARBgNVBAsMCnByb2R1Y3Rp
b24wWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAARMi/RmD2Hu4HKm5Pc9mVQHAThx
4O/HO58ywyfytSbEd9dw4u+o1zvQYT4ks9nL0YQgLshR/toYzAWg7lXwsQh2oAAw
CgYIKoZIzj0EAwIDSAAwRQIhAIOnmBzw5C7ZW1SBKubCuCVP9RxoGEWZNkH32tZE
FnFFAiBclKOClZa6DTEst5zfGkm7dmRlWW8qcPW4yOweO4N5CA==
-----END CERTIFICATE REQUEST-----
`;

describe('CSRs', () => {
  it('round-trips: subject (non-ASCII included) and public key come back, signature checks', () => {
    const pem = createCsr(pair, subject);
    expect(pem).toMatch(/^-----BEGIN CERTIFICATE REQUEST-----\n/);
    expect(pem).not.toContain('\r');
    expect(parseCsr(pem)).toEqual({ subject, publicKeyPem: pair.publicKeyPem });
  });

  it('is signed with SHA-256 with RSA', () => {
    const csr = forge.pki.certificationRequestFromPem(createCsr(pair, subject));
    expect(csr.signatureOid).toBe(forge.pki.oids.sha256WithRSAEncryption);
    expect(csr.verify()).toBe(true); // forge's own check agrees with node:crypto's
  });

  it.skipIf(!hasOpenssl())('verifies with the openssl command line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kb-csr-'));
    try {
      writeFileSync(join(dir, 'req.pem'), createCsr(pair, subject));
      const result = spawnSync('openssl', ['req', '-in', join(dir, 'req.pem'), '-verify', '-noout'], { encoding: 'utf8' });
      expect(result.status).toBe(0);
      expect(result.stdout + result.stderr).toMatch(/verify OK/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a tampered CSR: a changed signature byte, or a changed subject under the old signature', () => {
    const pem = createCsr(pair, subject);
    expect(errorType(() => parseCsr(flipByte(pem, 1)))).toBe('csr-invalid');
    // Swap the subject: build a second request for another CN and graft the first one's signature onto it.
    const other = forge.pki.certificationRequestFromPem(createCsr(pair, { ...subject, commonName: 'site-2' }));
    other.signature = forge.pki.certificationRequestFromPem(pem).signature;
    const grafted = forge.pki.certificationRequestToPem(other);
    expect(errorType(() => parseCsr(grafted))).toBe('csr-invalid');
  });

  it('reports, without endorsing, a subject that claims OU=production (the CA ignores CSR subjects)', () => {
    const claimed = parseCsr(createCsr(pair, { commonName: 'someone-else', organizationalUnit: 'production' }));
    expect(claimed.subject).toEqual({ commonName: 'someone-else', organizationalUnit: 'production' });
  });

  it('refuses garbage, empty, non-string, wrong PEM label and over-long input', () => {
    const pem = createCsr(pair, subject);
    const bad: unknown[] = [
      '',
      'hello',
      42,
      null,
      pem.replace(/CERTIFICATE REQUEST/g, 'CERTIFICATE'),
      '-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n',
      pem + ' '.repeat(MAX_CSR_BYTES),
    ];
    for (const input of bad) expect(errorType(() => parseCsr(input as string))).toBe('csr-invalid');
  });

  it('refuses RSA keys under 2048 bits, EC keys and SHA-1 signatures', () => {
    const small = generateKeyPairSync('rsa', {
      modulusLength: 1024,
      publicKeyEncoding: { type: 'spki', format: 'pem' },
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    });
    const smallCsr = createCsr({ privateKeyPem: small.privateKey, publicKeyPem: small.publicKey }, subject);
    expect(() => parseCsr(smallCsr)).toThrow(/1024 bits/);
    expect(errorType(() => parseCsr(EC_CSR))).toBe('csr-invalid');

    const sha1 = forge.pki.createCertificationRequest();
    sha1.publicKey = forge.pki.publicKeyFromPem(pair.publicKeyPem);
    sha1.setSubject([{ shortName: 'CN', value: 'site-1' }]);
    sha1.sign(forge.pki.privateKeyFromPem(pair.privateKeyPem), forge.md.sha1.create());
    expect(sha1.verify()).toBe(true);
    expect(errorType(() => parseCsr(forge.pki.certificationRequestToPem(sha1)))).toBe('csr-invalid');
  });

  it('finds the request among other PEM blocks (e.g. a key pasted above it)', () => {
    const pem = createCsr(pair, subject);
    expect(parseCsr(`${pair.publicKeyPem}${pem}`).subject.commonName).toBe('site-1');
  });
});
