/**
 * Shared set-up for the pki tests (not a test file itself). A CA takes an RSA-3072 key, about a
 * second on a small machine, so each test file makes one and reuses it.
 */
import forge from 'node-forge';
import { KeybridgeError } from '../src/errors.ts';
import { createCertificateAuthority, issueCertificate, type CertificateAuthority } from '../src/pki/ca.ts';
import { signWithNode, toLf } from '../src/pki/forge-bridge.ts';
import { generateKeyPair, type KeyPair } from '../src/pki/keys.ts';
import { derSerialHex, randomSerialHex } from '../src/pki/serial.ts';
import { subjectToForgeAttributes, type SubjectFields } from '../src/pki/subject.ts';

export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;

let shared: CertificateAuthority | undefined;
/** One CA per test file (vitest runs each file in its own process). */
export function testCa(): CertificateAuthority {
  shared ??= createCertificateAuthority({ commonName: 'keybridge test CA', validityDays: 3650 });
  return shared;
}

export interface Issued {
  keyPair: KeyPair;
  certPem: string;
}

/** A client certificate for a fresh key: site `siteId`, OU = `environment`. */
export function clientCert(
  ca: CertificateAuthority,
  options: { siteId?: string; environment?: string; notBefore?: Date; notAfter?: Date; serialHex?: string } = {},
): Issued {
  const keyPair = generateKeyPair();
  const now = Date.now();
  const subject: SubjectFields = { commonName: options.siteId ?? 'site-1', organizationalUnit: options.environment ?? 'development' };
  const certPem = issueCertificate(ca, {
    publicKeyPem: keyPair.publicKeyPem,
    subject,
    serialHex: options.serialHex,
    notBefore: options.notBefore ?? new Date(now - HOUR),
    notAfter: options.notAfter ?? new Date(now + 30 * DAY),
    usage: 'client',
  });
  return { keyPair, certPem };
}

/** A leaf certificate signed by its own key: what someone without our CA could make. */
export function selfSignedCert(subject: SubjectFields = { commonName: 'site-1', organizationalUnit: 'production' }): Issued {
  const keyPair = generateKeyPair();
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(keyPair.publicKeyPem);
  cert.serialNumber = derSerialHex(randomSerialHex());
  cert.validity.notBefore = new Date(Date.now() - HOUR);
  cert.validity.notAfter = new Date(Date.now() + DAY);
  cert.setSubject(subjectToForgeAttributes(subject));
  cert.setIssuer(subjectToForgeAttributes(subject));
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'extKeyUsage', clientAuth: true },
  ]);
  signWithNode(cert, keyPair.privateKeyPem);
  return { keyPair, certPem: toLf(forge.pki.certificateToPem(cert)) };
}

/** The problem type a promise rejects with, or 'no error'. */
export async function rejectionType(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof KeybridgeError) return error.type;
    throw error;
  }
  return 'no error';
}

/** The KeybridgeError `fn` throws (the test fails if it throws anything else or nothing). */
export function thrown(fn: () => unknown): KeybridgeError {
  try {
    fn();
  } catch (error) {
    if (error instanceof KeybridgeError) return error;
    throw error;
  }
  throw new Error('expected a KeybridgeError, got none');
}
