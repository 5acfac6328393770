/**
 * The key service's certificate authority: one self-signed root that signs the agents' client
 * certificates (and the key service's own TLS server certificate).
 *
 * The CA decides every field of what it issues. `issueCertificate` takes the subject from its
 * caller (the server, which knows the site id and the environment it grants), never from a CSR:
 * the CSR only proves possession of `publicKeyPem`.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import forge from 'node-forge';
import { KeybridgeError } from '../errors.ts';
import { signWithNode, toLf } from './forge-bridge.ts';
import { checkRsaPublicKey, publicKeyPemOf } from './keys.ts';
import { derSerialHex, normalizeSerialHex, randomSerialHex } from './serial.ts';
import { subjectToForgeAttributes, type SubjectFields } from './subject.ts';

export interface CertificateAuthority {
  certPem: string;
  keyPem: string;
}

export interface IssueOptions {
  publicKeyPem: string;
  subject: SubjectFields;
  /** Default: 16 random bytes, positive. */
  serialHex?: string;
  notBefore: Date;
  notAfter: Date;
  usage: 'client' | 'server';
  /** Server certificates only (subjectAltName). */
  dnsNames?: string[];
  ipAddresses?: string[];
}

/** RSA-3072 for the root: it outlives the leaves (NIST SP 800-57 gives 2048 bits until 2030). */
const CA_KEY_BITS = 3072;
/** Leaves are sometimes checked by a peer whose clock runs a little behind ours. */
const CA_BACKDATE_MS = 5 * 60_000;
const DAY_MS = 86_400_000;

function field(name: string, detail: string): KeybridgeError {
  return new KeybridgeError('invalid-field', detail, { field: name });
}

function validDate(value: unknown, name: string): Date {
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) throw field(name, `${name} must be a valid Date`);
  return value;
}

function serialOption(serialHex: string | undefined): string {
  if (serialHex === undefined) return randomSerialHex();
  try {
    return normalizeSerialHex(serialHex);
  } catch (error) {
    throw field('serialHex', error instanceof Error ? error.message : 'invalid serial');
  }
}

/**
 * A new root CA: RSA-3072, self-signed with SHA-256, basicConstraints CA:true with pathLen 0
 * (it signs leaves only, never another CA), keyUsage keyCertSign + cRLSign, both critical.
 */
export function createCertificateAuthority(options: { commonName: string; validityDays: number; now?: Date }): CertificateAuthority {
  const now = validDate(options.now ?? new Date(), 'now');
  if (!Number.isSafeInteger(options.validityDays) || options.validityDays < 1 || options.validityDays > 36_500) {
    throw field('validityDays', 'validityDays must be a whole number of days from 1 to 36500');
  }
  const attributes = subjectToForgeAttributes({ commonName: options.commonName });
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: CA_KEY_BITS });

  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicKeyPemOf(publicKey));
  cert.serialNumber = derSerialHex(randomSerialHex());
  cert.validity.notBefore = new Date(now.getTime() - CA_BACKDATE_MS);
  cert.validity.notAfter = new Date(now.getTime() + options.validityDays * DAY_MS);
  cert.setSubject(attributes);
  cert.setIssuer(attributes);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  signWithNode(cert, privateKey);
  return {
    certPem: toLf(forge.pki.certificateToPem(cert)),
    keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
  };
}

/** The CA certificate parsed, after checking it is a CA whose key is `ca.keyPem`. */
function loadCa(ca: CertificateAuthority): { cert: forge.pki.Certificate; x509: X509Certificate } {
  try {
    const x509 = new X509Certificate(ca.certPem);
    // A mismatched pair would sign certificates nobody can verify: fail here, loudly.
    if (!x509.ca || !x509.checkPrivateKey(createPrivateKey(ca.keyPem))) throw new Error('not a CA, or not this key');
    return { cert: forge.pki.certificateFromPem(ca.certPem), x509 };
  } catch (error) {
    throw new KeybridgeError('config-invalid', 'the CA certificate and key do not form a certificate authority', { cause: error });
  }
}

/**
 * The CA's subject, attribute for attribute and in its string types, as the leaves' issuer, so
 * the names compare equal for any verifier. forge hands parsed UTF8String values over as raw
 * bytes but UTF-8-encodes them again on output: decode them first, or a non-ASCII CA name would
 * come out double-encoded.
 */
function issuerAttributes(caCert: forge.pki.Certificate): forge.pki.CertificateField[] {
  return caCert.subject.attributes.map((attribute) =>
    attribute.valueTagClass === (forge.asn1.Type.UTF8 as number)
      ? { ...attribute, value: forge.util.decodeUtf8(attribute.value as string) }
      : attribute,
  );
}

function altNames(options: IssueOptions): object[] {
  const dnsNames = options.dnsNames ?? [];
  const ipAddresses = options.ipAddresses ?? [];
  if (options.usage === 'client') {
    if (dnsNames.length || ipAddresses.length) throw field('dnsNames', 'client certificates carry no DNS names or IP addresses');
    return [];
  }
  if (!dnsNames.length && !ipAddresses.length) {
    throw field('dnsNames', 'a server certificate needs at least one DNS name or IP address');
  }
  const names: object[] = [];
  for (const dns of dnsNames) {
    // A hostname (LDH labels) or a leftmost wildcard; RFC 6125 clients match nothing else.
    if (
      typeof dns !== 'string' ||
      dns.length > 253 ||
      !/^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i.test(dns)
    ) {
      throw field('dnsNames', 'each DNS name must be a hostname');
    }
    names.push({ type: 2, value: dns.toLowerCase() });
  }
  for (const ip of ipAddresses) {
    if (typeof ip !== 'string' || isIP(ip) === 0) throw field('ipAddresses', 'each IP address must be IPv4 or IPv6');
    names.push({ type: 7, ip });
  }
  return names;
}

/**
 * A leaf certificate for `publicKeyPem`, signed by the CA with SHA-256: CA:false, keyUsage
 * digitalSignature + keyEncipherment (both critical), extKeyUsage clientAuth or serverAuth,
 * subjectAltName for server certificates, subject and authority key identifiers (the latter is
 * what lets OpenSSL tell two CAs with the same name apart). The validity must lie inside the
 * CA's own, since nothing verifies past the CA's notAfter.
 */
export function issueCertificate(ca: CertificateAuthority, options: IssueOptions): string {
  if (options.usage !== 'client' && options.usage !== 'server') throw field('usage', "usage must be 'client' or 'server'");
  const notBefore = validDate(options.notBefore, 'notBefore');
  const notAfter = validDate(options.notAfter, 'notAfter');
  if (notAfter.getTime() <= notBefore.getTime()) throw field('notAfter', 'notAfter must be later than notBefore');
  const subject = subjectToForgeAttributes(options.subject);
  const serial = serialOption(options.serialHex);
  const names = altNames(options);

  let publicKeyPem: string;
  try {
    publicKeyPem = publicKeyPemOf(checkRsaPublicKey(createPublicKey(options.publicKeyPem)));
  } catch (error) {
    const detail = error instanceof Error && error.message.startsWith('the ') ? error.message : 'not a PEM public key';
    throw new KeybridgeError('invalid-field', detail, { field: 'publicKeyPem', cause: error });
  }

  const authority = loadCa(ca);
  if (notAfter.getTime() > authority.cert.validity.notAfter.getTime()) {
    throw field('notAfter', 'notAfter must not be later than the CA certificate expires');
  }
  const authorityKeyId = authority.cert.getExtension('subjectKeyIdentifier') as { subjectKeyIdentifier?: string } | undefined;
  if (!authorityKeyId?.subjectKeyIdentifier) {
    throw new KeybridgeError('config-invalid', 'the CA certificate has no subject key identifier');
  }

  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicKeyPem);
  cert.serialNumber = derSerialHex(serial);
  cert.validity.notBefore = notBefore;
  cert.validity.notAfter = notAfter;
  cert.setSubject(subject);
  cert.setIssuer(issuerAttributes(authority.cert));
  const extensions: object[] = [
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', clientAuth: options.usage === 'client', serverAuth: options.usage === 'server' },
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: forge.util.hexToBytes(authorityKeyId.subjectKeyIdentifier) },
  ];
  if (names.length) extensions.push({ name: 'subjectAltName', altNames: names });
  cert.setExtensions(extensions);
  signWithNode(cert, ca.keyPem);
  return toLf(forge.pki.certificateToPem(cert));
}
