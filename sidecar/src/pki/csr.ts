/**
 * Certificate signing requests (PKCS#10). The agent makes one from a fresh key pair; the key
 * service parses it to learn the public key, and checks its self-signature, which proves the
 * requester holds the private key.
 *
 * The CSR's subject is reported but NOT trusted: the certificate authority (ca.ts) writes the
 * subject it decides on (CN = the site id it knows, OU = the environment it grants) and ignores
 * whatever the requester put in the CSR. A CSR claiming `OU=production` is just a string.
 */
import { createPublicKey } from 'node:crypto';
import forge from 'node-forge';
import { KeybridgeError } from '../errors.ts';
import { firstPemBlock, signWithNode, toLf, verifyWithNode } from './forge-bridge.ts';
import { checkRsaPublicKey, type KeyPair, publicKeyPemOf } from './keys.ts';
import { subjectFromForgeAttributes, subjectToForgeAttributes, type SubjectFields } from './subject.ts';

/** A 2048-bit CSR is about 1 kB of PEM; 16 kB leaves room for 8192-bit keys and attributes. */
export const MAX_CSR_BYTES = 16 * 1024;

/** A PEM CSR for the key pair, signed with SHA-256 by its private key. */
export function createCsr(keyPair: KeyPair, subject: SubjectFields): string {
  const csr = forge.pki.createCertificationRequest();
  // forge only needs the public key to write it into the request; signing is node:crypto's.
  csr.publicKey = forge.pki.publicKeyFromPem(keyPair.publicKeyPem);
  csr.setSubject(subjectToForgeAttributes(subject));
  signWithNode(csr, keyPair.privateKeyPem);
  return toLf(forge.pki.certificationRequestToPem(csr));
}

function invalid(detail: string, cause?: unknown): KeybridgeError {
  return new KeybridgeError('csr-invalid', detail, { cause });
}

/**
 * The subject (as claimed, see the top of this file) and public key of a PEM CSR, after checking
 * its size, its structure, an RSA key of at least 2048 bits and its self-signature
 * (SHA-256/384/512 with RSA). Anything else throws `csr-invalid`.
 */
export function parseCsr(pem: string): { subject: SubjectFields; publicKeyPem: string } {
  if (typeof pem !== 'string') throw invalid('the CSR must be a PEM string');
  if (Buffer.byteLength(pem, 'utf8') > MAX_CSR_BYTES) throw invalid(`the CSR is larger than ${MAX_CSR_BYTES} bytes`);
  const block = firstPemBlock(pem, 'CERTIFICATE REQUEST');
  if (!block) throw invalid('no "CERTIFICATE REQUEST" PEM block');

  let csr: forge.pki.CertificateSigningRequest;
  try {
    // Parses the DER strictly and refuses trailing bytes; throws for non-RSA keys.
    csr = forge.pki.certificationRequestFromPem(block);
  } catch (error) {
    throw invalid('the CSR does not parse as a PKCS#10 request with an RSA key', error);
  }

  let publicKey;
  try {
    const derived = forge.asn1.toDer(forge.pki.publicKeyToAsn1(csr.publicKey!)).getBytes();
    publicKey = checkRsaPublicKey(createPublicKey({ key: Buffer.from(derived, 'binary'), format: 'der', type: 'spki' }));
  } catch (error) {
    throw invalid(error instanceof Error ? error.message : 'the CSR public key is unusable', error);
  }

  const body = csr.certificationRequestInfo;
  if (!body || typeof csr.signature !== 'string' || !verifyWithNode(body, csr.signatureOid, csr.signature, publicKey)) {
    throw invalid('the CSR signature does not verify (or is not RSA with SHA-256/384/512)');
  }

  let subject: SubjectFields;
  try {
    subject = subjectFromForgeAttributes(csr.subject.attributes);
  } catch (error) {
    throw invalid(error instanceof Error ? error.message : 'the CSR subject does not parse', error);
  }
  return { subject, publicKeyPem: publicKeyPemOf(publicKey) };
}
