/**
 * The move to production (DESIGN.md, Certificates). The agent makes a new key pair and CSR and
 * signs a request with the key of its current DEVELOPMENT certificate; the key service checks
 * the signature against that certificate before its production policy issues anything.
 *
 * Signature: RSASSA-PKCS1-v1_5 with SHA-256 over the UTF-8 bytes of `canonicalJson(request)`,
 * base64. PKCS#1 v1.5 rather than PSS because it is deterministic and the scheme every X.509
 * signature in keybridge already uses: one scheme, checkable with `openssl dgst -sha256 -verify`.
 *
 * What this module checks: shape, freshness (`issuedAt` within maxAge in the past and clock skew
 * in the future), that the certificate is a development certificate for `siteId` with serial
 * `devCertSerialHex` and is within its validity, and the signature. What the CALLER must check:
 * that `devCertPem` was issued by its CA (verifyCertificate) and is not revoked, that the nonce
 * was never seen before — keep nonces for at least maxAgeMs + clockSkewMs, after which
 * freshness refuses the request anyway — and the CSR itself (parseCsr).
 */
import { constants, createPublicKey, randomBytes, sign, verify } from 'node:crypto';
import { KeybridgeError } from '../errors.ts';
import { canonicalJson } from './canonical-json.ts';
import { MAX_CSR_BYTES } from './csr.ts';
import { DEFAULT_CLOCK_SKEW_MS, environmentOf, inspectCertificate, type CertificateInfo, type CertificateInput } from './inspect.ts';
import { normalizeSerialHex } from './serial.ts';

export { canonicalJson } from './canonical-json.ts';

export interface ProductionRequest {
  siteId: string;
  csrPem: string;
  /** base64url, 16 random bytes. */
  nonce: string;
  /** ISO 8601, UTC. */
  issuedAt: string;
  devCertSerialHex: string;
}

export interface SignedProductionRequest {
  request: ProductionRequest;
  /** base64, RSASSA-PKCS1-v1_5 + SHA-256 over canonicalJson(request). */
  signature: string;
}

export const DEFAULT_MAX_AGE_MS = 5 * 60_000;
const NONCE = /^[A-Za-z0-9_-]{22}$/; // 16 bytes, base64url without padding
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
/** An 8192-bit signature is 1368 base64 characters. */
const MAX_SIGNATURE_CHARS = 1368;

function invalid(detail: string, field?: string): KeybridgeError {
  return new KeybridgeError('production-request-invalid', detail, { field });
}

function messageBytes(request: ProductionRequest): Buffer {
  return Buffer.from(canonicalJson({ ...request }), 'utf8');
}

export function createProductionRequest(options: {
  siteId: string;
  csrPem: string;
  devCertSerialHex: string;
  now?: Date;
}): ProductionRequest {
  let serial: string;
  try {
    serial = normalizeSerialHex(options.devCertSerialHex);
  } catch (error) {
    throw new KeybridgeError('invalid-field', error instanceof Error ? error.message : 'bad serial', { field: 'devCertSerialHex' });
  }
  if (typeof options.siteId !== 'string' || options.siteId === '') {
    throw new KeybridgeError('invalid-field', 'siteId must be a non-empty string', { field: 'siteId' });
  }
  if (typeof options.csrPem !== 'string' || options.csrPem === '') {
    throw new KeybridgeError('invalid-field', 'csrPem must be a PEM string', { field: 'csrPem' });
  }
  return {
    siteId: options.siteId,
    csrPem: options.csrPem,
    nonce: randomBytes(16).toString('base64url'),
    issuedAt: (options.now ?? new Date()).toISOString(),
    devCertSerialHex: serial,
  };
}

export function signProductionRequest(request: ProductionRequest, devPrivateKeyPem: string): SignedProductionRequest {
  const signature = sign('sha256', messageBytes(request), { key: devPrivateKeyPem, padding: constants.RSA_PKCS1_PADDING });
  return { request: { ...request }, signature: signature.toString('base64') };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * `value` as an object with exactly these keys, each a non-empty string within its length
 * limit. Unknown keys are refused too: a signed message should carry nothing unsigned.
 */
function strings<K extends string>(value: unknown, path: string, limits: Record<K, number>): Record<K, string> {
  if (!isRecord(value)) throw invalid(`${path} must be an object`, path);
  for (const key of Object.keys(value)) {
    if (!Object.hasOwn(limits, key)) throw invalid(`unexpected field ${path}.${key}`, `${path}.${key}`);
  }
  for (const key of Object.keys(limits) as K[]) {
    const item = value[key];
    if (typeof item !== 'string' || item === '' || item.length > limits[key]) {
      throw invalid(`${path}.${key} must be a non-empty string of at most ${limits[key]} characters`, `${path}.${key}`);
    }
  }
  return value as Record<K, string>;
}

/**
 * The request inside `signed`, if it passes every check listed at the top of this file; else
 * `production-request-invalid` (with `field` for shape errors).
 */
export function verifyProductionRequest(
  signed: unknown,
  devCertPem: CertificateInput,
  options: { now: Date; maxAgeMs?: number; clockSkewMs?: number },
): ProductionRequest {
  if (!(options.now instanceof Date) || Number.isNaN(options.now.getTime())) {
    throw new KeybridgeError('invalid-field', 'now must be a Date', { field: 'now' });
  }
  if (!isRecord(signed)) throw invalid('the signed request must be an object');
  for (const key of Object.keys(signed)) {
    if (key !== 'request' && key !== 'signature') throw invalid(`unexpected field ${key}`, key);
  }
  const signature64 = signed.signature;
  if (typeof signature64 !== 'string' || signature64.length > MAX_SIGNATURE_CHARS || !BASE64.test(signature64)) {
    throw invalid('signature must be base64', 'signature');
  }
  const request = strings(signed.request, 'request', {
    siteId: 128,
    csrPem: MAX_CSR_BYTES,
    nonce: 22,
    issuedAt: 24,
    devCertSerialHex: 42,
  });
  if (!NONCE.test(request.nonce)) throw invalid('nonce must be 16 bytes of base64url', 'request.nonce');
  const issuedAt = Date.parse(request.issuedAt);
  if (!ISO_UTC.test(request.issuedAt) || Number.isNaN(issuedAt)) {
    throw invalid('issuedAt must be an ISO 8601 UTC time', 'request.issuedAt');
  }
  let serial: string;
  try {
    serial = normalizeSerialHex(request.devCertSerialHex);
  } catch {
    throw invalid('devCertSerialHex must be a hexadecimal serial', 'request.devCertSerialHex');
  }

  const now = options.now.getTime();
  const maxAge = options.maxAgeMs ?? DEFAULT_MAX_AGE_MS;
  const skew = options.clockSkewMs ?? DEFAULT_CLOCK_SKEW_MS;
  // NaN would make both comparisons below false, i.e. accept any time: refuse it outright.
  for (const [name, ms] of [
    ['maxAgeMs', maxAge],
    ['clockSkewMs', skew],
  ] as const) {
    if (!Number.isFinite(ms) || ms < 0) throw new KeybridgeError('invalid-field', `${name} must be a number ≥ 0`, { field: name });
  }
  if (issuedAt < now - maxAge) throw invalid('the request is too old: make a new one', 'request.issuedAt');
  if (issuedAt > now + skew) throw invalid('the request is dated in the future: check the clock', 'request.issuedAt');

  let cert: CertificateInfo;
  try {
    cert = inspectCertificate(devCertPem);
  } catch {
    throw invalid('the development certificate does not parse');
  }
  if (environmentOf(cert) !== 'development') throw invalid('the signing certificate is not a development certificate');
  if (cert.subject.commonName !== request.siteId) throw invalid('the certificate belongs to another site', 'request.siteId');
  if (cert.serialHex !== serial) throw invalid('the serial is not the certificate’s', 'request.devCertSerialHex');
  if (now + skew < cert.notBefore.getTime() || now - skew > cert.notAfter.getTime()) {
    throw invalid('the development certificate is not valid now');
  }

  const verified: ProductionRequest = {
    siteId: request.siteId,
    csrPem: request.csrPem,
    nonce: request.nonce,
    issuedAt: request.issuedAt,
    devCertSerialHex: request.devCertSerialHex,
  };
  const key = createPublicKey(cert.publicKeyPem);
  const signature = Buffer.from(signature64, 'base64');
  if (!verify('sha256', messageBytes(verified), { key, padding: constants.RSA_PKCS1_PADDING }, signature)) {
    throw invalid('the signature does not verify with the development certificate', 'signature');
  }
  return verified;
}
