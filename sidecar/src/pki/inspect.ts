/**
 * Reading and checking certificates. node:crypto's X509Certificate (OpenSSL) does everything
 * cryptographic — signature, issuer match, fingerprint, key match; node-forge supplies what
 * Node 20 cannot hand over as data: the subject attributes one by one and the validity Dates.
 *
 * `verifyCertificate` answers one question for the key service: did OUR CA issue this
 * certificate, and is it within its validity now? Revocation needs storage and is the caller's
 * job; so is the extended key usage (TLS already refuses a server certificate offered as a
 * client one).
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import forge from 'node-forge';
import { KeybridgeError } from '../errors.ts';
import { firstPemBlock } from './forge-bridge.ts';
import { publicKeyPemOf } from './keys.ts';
import { normalizeSerialHex } from './serial.ts';
import { subjectFromForgeAttributes, type SubjectFields } from './subject.ts';

export interface CertificateInfo {
  /** Lowercase hex, no leading zeros (serial.ts). */
  serialHex: string;
  subject: SubjectFields;
  issuer: SubjectFields;
  notBefore: Date;
  notAfter: Date;
  /** SHA-256 of the DER, lowercase hex, no colons. */
  fingerprintSha256: string;
  /** SPKI PEM. */
  publicKeyPem: string;
  isCa: boolean;
}

export type VerifyFailure = 'expired' | 'not-yet-valid' | 'wrong-issuer' | 'bad-signature' | 'self-signed' | 'malformed';

/** Certificates here are ~1.2 kB of PEM; a larger one is not ours. */
const MAX_CERTIFICATE_BYTES = 16 * 1024;
/** Agents' clocks drift; five minutes is what Kerberos and most TLS stacks' users tolerate. */
export const DEFAULT_CLOCK_SKEW_MS = 5 * 60_000;

interface Parsed {
  x509: X509Certificate;
  info: CertificateInfo;
}

/**
 * A certificate as PEM text, or as the exact DER bytes TLS saw (`getPeerCertificate().raw`): the
 * key service identifies a client by those bytes, never by a PEM rebuilt from them.
 */
export type CertificateInput = string | Uint8Array;

/** Throws a plain Error on anything that is not one well-formed RSA certificate. */
function parse(input: CertificateInput): Parsed {
  const { x509, cert } = typeof input === 'string' ? fromPem(input) : fromDer(input);
  const serialHex = normalizeSerialHex(x509.serialNumber);
  // Two parsers read the same bytes: if they disagree on the serial, trust neither.
  if (normalizeSerialHex(cert.serialNumber) !== serialHex) throw new Error('the parsers disagree');
  return {
    x509,
    info: {
      serialHex,
      subject: subjectFromForgeAttributes(cert.subject.attributes),
      issuer: subjectFromForgeAttributes(cert.issuer.attributes),
      notBefore: cert.validity.notBefore,
      notAfter: cert.validity.notAfter,
      fingerprintSha256: x509.fingerprint256.replace(/:/g, '').toLowerCase(),
      publicKeyPem: publicKeyPemOf(x509.publicKey),
      isCa: x509.ca,
    },
  };
}

function fromPem(pem: string): { x509: X509Certificate; cert: forge.pki.Certificate } {
  // The first certificate of the text: a platform's binding.pem may hold its key beside it.
  const block = firstPemBlock(pem, 'CERTIFICATE');
  if (!block || block.length > MAX_CERTIFICATE_BYTES) throw new Error('no certificate PEM block of a sane size');
  return { x509: new X509Certificate(block), cert: forge.pki.certificateFromPem(block) };
}

function fromDer(der: Uint8Array): { x509: X509Certificate; cert: forge.pki.Certificate } {
  if (!(der instanceof Uint8Array) || der.length === 0 || der.length > MAX_CERTIFICATE_BYTES) throw new Error('no DER of a sane size');
  const bytes = Buffer.from(der.buffer, der.byteOffset, der.length);
  const x509 = new X509Certificate(bytes);
  // Both parsers must have read exactly these bytes: nothing before, after or beside them.
  if (!x509.raw.equals(bytes)) throw new Error('trailing or re-encoded bytes');
  // forge's defaults are strict lengths and every byte parsed.
  const asn1 = forge.asn1.fromDer(forge.util.createBuffer(bytes.toString('binary')));
  return { x509, cert: forge.pki.certificateFromAsn1(asn1) };
}

/** What a certificate (PEM or DER) says. Garbage (or a non-RSA certificate) throws `certificate-invalid`. */
export function inspectCertificate(pem: CertificateInput): CertificateInfo {
  try {
    return parse(pem).info;
  } catch (error) {
    throw new KeybridgeError('certificate-invalid', 'the certificate does not parse', { cause: error });
  }
}

/**
 * Whether `certPem` was issued by the CA in `caCertPem` and is valid at `now`, give or take
 * `clockSkewMs`. The reasons are checked in this order, so the most fundamental one is reported:
 * malformed, self-signed, wrong-issuer (name or authority key id differ from the CA's),
 * bad-signature (claims the CA but was not signed by its key), not-yet-valid, expired (unless
 * `allowExpired`: a re-issue names the site with an old certificate that may have run out).
 * A CA certificate that does not parse or is not a CA throws `config-invalid`: that is the key
 * service's own misconfiguration, not the client's fault.
 */
export function verifyCertificate(
  certPem: CertificateInput,
  caCertPem: string,
  now: Date,
  options: { clockSkewMs?: number; allowExpired?: boolean; checkTime?: boolean } = {},
): { ok: true; info: CertificateInfo } | { ok: false; reason: VerifyFailure } {
  let ca: X509Certificate;
  try {
    ca = new X509Certificate(caCertPem);
    if (!ca.ca) throw new Error('not a CA certificate');
  } catch (error) {
    throw new KeybridgeError('config-invalid', 'the CA certificate does not parse or is not a CA', { cause: error });
  }
  const skew = options.clockSkewMs ?? DEFAULT_CLOCK_SKEW_MS;
  if (!Number.isFinite(skew) || skew < 0) throw new KeybridgeError('invalid-field', 'clockSkewMs must be ≥ 0', { field: 'clockSkewMs' });
  if (!(now instanceof Date) || Number.isNaN(now.getTime()))
    throw new KeybridgeError('invalid-field', 'now must be a Date', { field: 'now' });

  let parsed: Parsed;
  try {
    parsed = parse(certPem);
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  const { x509, info } = parsed;
  // The CA's own certificate is self-signed too: it is not a client certificate.
  if (x509.checkIssued(x509) && x509.verify(x509.publicKey)) return { ok: false, reason: 'self-signed' };
  if (!x509.checkIssued(ca)) return { ok: false, reason: 'wrong-issuer' };
  if (!x509.verify(ca.publicKey)) return { ok: false, reason: 'bad-signature' };
  // `checkTime: false`: only what never changes (the caller checks the time itself: validityProblem).
  const outside = options.checkTime === false ? null : validityProblem(info, now, { ...options, clockSkewMs: skew });
  return outside ? { ok: false, reason: outside } : { ok: true, info };
}

/**
 * Whether `now` falls outside a certificate's validity, give or take `clockSkewMs` (default
 * five minutes): the time half of verifyCertificate, for a caller that already knows the
 * certificate was issued by its CA (the key service caches that per DER, but not the time).
 */
export function validityProblem(
  info: Pick<CertificateInfo, 'notBefore' | 'notAfter'>,
  now: Date,
  options: { clockSkewMs?: number; allowExpired?: boolean } = {},
): 'not-yet-valid' | 'expired' | null {
  const skew = options.clockSkewMs ?? DEFAULT_CLOCK_SKEW_MS;
  const t = now.getTime();
  if (t + skew < info.notBefore.getTime()) return 'not-yet-valid';
  if (t - skew > info.notAfter.getTime() && !options.allowExpired) return 'expired';
  return null;
}

/**
 * The environment a certificate grants, read from its subject OU, exactly (no case folding, no
 * trimming: the CA writes one of the two words, and anything else is not ours to interpret).
 */
export function environmentOf(info: CertificateInfo): 'development' | 'production' | null {
  const ou = info.subject.organizationalUnit;
  return ou === 'development' || ou === 'production' ? ou : null;
}

/** Whether the private key in `privateKeyPem` is the one `certPem` certifies; false on garbage. */
export function matchesPrivateKey(certPem: string, privateKeyPem: string): boolean {
  try {
    const block = firstPemBlock(certPem, 'CERTIFICATE');
    if (!block) return false;
    return new X509Certificate(block).checkPrivateKey(createPrivateKey(privateKeyPem));
  } catch {
    return false;
  }
}
