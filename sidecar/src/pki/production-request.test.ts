import { constants, verify } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { canonicalJson } from './canonical-json.ts';
import { createCsr, parseCsr } from './csr.ts';
import { inspectCertificate } from './inspect.ts';
import { generateKeyPair } from './keys.ts';
import {
  createProductionRequest,
  signProductionRequest,
  verifyProductionRequest,
  type ProductionRequest,
  type SignedProductionRequest,
} from './production-request.ts';
import { clientCert, DAY, testCa, thrown, type Issued } from '../../test-helpers/pki-fixtures.ts';

const MINUTE = 60_000;
let dev: Issued; // site-1's development certificate
let otherDev: Issued; // site-2's
let prod: Issued; // site-1's production certificate
let csrPem: string;
let devSerial: string;

beforeAll(() => {
  const ca = testCa();
  dev = clientCert(ca, { siteId: 'site-1', environment: 'development', serialHex: '8f00aa' });
  otherDev = clientCert(ca, { siteId: 'site-2', environment: 'development' });
  prod = clientCert(ca, { siteId: 'site-1', environment: 'production' });
  csrPem = createCsr(generateKeyPair(), { commonName: 'site-1' });
  devSerial = '8f00aa';
});

function make(now: Date, overrides: Partial<ProductionRequest> = {}, key = dev.keyPair.privateKeyPem): SignedProductionRequest {
  const request = { ...createProductionRequest({ siteId: 'site-1', csrPem, devCertSerialHex: devSerial, now }), ...overrides };
  return signProductionRequest(request, key);
}

/** The problem type and field a verification fails with. */
function failure(signed: unknown, certPem = dev.certPem, now = new Date(), options: { maxAgeMs?: number; clockSkewMs?: number } = {}) {
  const error = thrown(() => verifyProductionRequest(signed, certPem, { now, ...options }));
  return [error.type, error.field];
}

describe('production request', () => {
  it('verifies when made and signed with the development key, also after a JSON round trip', () => {
    const now = new Date();
    const signed = make(now);
    expect(verifyProductionRequest(signed, dev.certPem, { now })).toEqual(signed.request);
    const travelled = JSON.parse(JSON.stringify(signed)) as unknown;
    expect(verifyProductionRequest(travelled, dev.certPem, { now })).toEqual(signed.request);
    expect(parseCsr(verifyProductionRequest(travelled, dev.certPem, { now }).csrPem).subject.commonName).toBe('site-1');
  });

  it('makes fresh 16-byte base64url nonces, an ISO time and the canonical serial', () => {
    const now = new Date('2030-01-02T03:04:05.678Z');
    const a = createProductionRequest({ siteId: 'site-1', csrPem, devCertSerialHex: '008F00AA', now });
    const b = createProductionRequest({ siteId: 'site-1', csrPem, devCertSerialHex: '8f00aa', now });
    expect(a.nonce).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(Buffer.from(a.nonce, 'base64url')).toHaveLength(16);
    expect(a.nonce).not.toBe(b.nonce);
    expect(a.issuedAt).toBe('2030-01-02T03:04:05.678Z');
    expect(a.devCertSerialHex).toBe('8f00aa');
    expect(thrown(() => createProductionRequest({ siteId: '', csrPem, devCertSerialHex: '1' })).field).toBe('siteId');
    expect(thrown(() => createProductionRequest({ siteId: 's', csrPem, devCertSerialHex: 'xyz' })).field).toBe('devCertSerialHex');
  });

  it('signs with RSASSA-PKCS1-v1_5 + SHA-256 over canonicalJson(request), deterministically', () => {
    const signed = make(new Date());
    const message = Buffer.from(canonicalJson(signed.request), 'utf8');
    const key = { key: dev.keyPair.publicKeyPem, padding: constants.RSA_PKCS1_PADDING };
    expect(verify('sha256', message, key, Buffer.from(signed.signature, 'base64'))).toBe(true);
    expect(signProductionRequest(signed.request, dev.keyPair.privateKeyPem).signature).toBe(signed.signature);
  });

  it('refuses a request signed by another site’s development key', () => {
    const signed = make(new Date(), {}, otherDev.keyPair.privateKeyPem);
    expect(failure(signed)).toEqual(['production-request-invalid', 'signature']);
    // …and another site's certificate cannot vouch for site-1 either.
    expect(failure(make(new Date(), {}, otherDev.keyPair.privateKeyPem), otherDev.certPem)).toEqual([
      'production-request-invalid',
      'request.siteId',
    ]);
  });

  it('refuses the wrong development-certificate serial', () => {
    expect(failure(make(new Date(), { devCertSerialHex: '8f00ab' }))).toEqual(['production-request-invalid', 'request.devCertSerialHex']);
  });

  it('refuses a CSR or any field changed after signing', () => {
    const signed = make(new Date());
    const otherCsr = createCsr(generateKeyPair(), { commonName: 'site-1' });
    expect(failure({ ...signed, request: { ...signed.request, csrPem: otherCsr } })).toEqual(['production-request-invalid', 'signature']);
    expect(failure({ ...signed, request: { ...signed.request, nonce: 'A'.repeat(22) } })).toEqual([
      'production-request-invalid',
      'signature',
    ]);
  });

  it('refuses a production certificate as the signer', () => {
    const signed = make(new Date(), { devCertSerialHex: inspectSerial(prod.certPem) }, prod.keyPair.privateKeyPem);
    const error = thrown(() => verifyProductionRequest(signed, prod.certPem, { now: new Date() }));
    expect([error.type, error.detail]).toEqual(['production-request-invalid', 'the signing certificate is not a development certificate']);
  });

  it('refuses a development certificate that has expired', () => {
    const t = Date.now();
    const old = clientCert(testCa(), { siteId: 'site-1', notBefore: new Date(t - 10 * DAY), notAfter: new Date(t - DAY) });
    const signed = make(new Date(), { devCertSerialHex: inspectSerial(old.certPem) }, old.keyPair.privateKeyPem);
    const error = thrown(() => verifyProductionRequest(signed, old.certPem, { now: new Date() }));
    expect([error.type, error.detail]).toEqual(['production-request-invalid', 'the development certificate is not valid now']);
    expect(failure(make(new Date()), 'not a certificate')[0]).toBe('production-request-invalid');
  });

  it('refuses requests older than maxAge (5 minutes by default) and dated beyond the clock skew', () => {
    const now = new Date();
    const at = (ms: number) => new Date(now.getTime() + ms);
    expect(failure(make(at(-6 * MINUTE)), dev.certPem, now)).toEqual(['production-request-invalid', 'request.issuedAt']);
    expect(failure(make(at(6 * MINUTE)), dev.certPem, now)).toEqual(['production-request-invalid', 'request.issuedAt']);
    expect(failure(make(at(-2 * MINUTE)), dev.certPem, now, { maxAgeMs: MINUTE })).toEqual([
      'production-request-invalid',
      'request.issuedAt',
    ]);
    expect(failure(make(at(2 * MINUTE)), dev.certPem, now, { clockSkewMs: MINUTE })).toEqual([
      'production-request-invalid',
      'request.issuedAt',
    ]);
  });

  it('refuses nonsensical freshness options rather than accepting any time', () => {
    const signed = make(new Date());
    for (const options of [{ maxAgeMs: Number.NaN }, { clockSkewMs: -1 }, { maxAgeMs: Infinity }]) {
      expect(thrown(() => verifyProductionRequest(signed, dev.certPem, { now: new Date(), ...options })).type).toBe('invalid-field');
    }
  });

  it('tolerates a few minutes of clock skew either way', () => {
    const now = new Date();
    for (const skew of [-4 * MINUTE, -3 * MINUTE, 3 * MINUTE, 4 * MINUTE]) {
      const signed = make(new Date(now.getTime() + skew));
      expect(verifyProductionRequest(signed, dev.certPem, { now }).siteId).toBe('site-1');
    }
  });

  it('refuses garbage shapes, naming the field', () => {
    const good = make(new Date());
    const r = good.request;
    const cases: Array<[unknown, string | undefined]> = [
      [null, undefined],
      ['string', undefined],
      [[good], undefined],
      [42, undefined],
      [{ request: r }, 'signature'],
      [{ ...good, extra: 1 }, 'extra'],
      [{ ...good, signature: 'not base64!' }, 'signature'],
      [{ ...good, signature: 'A'.repeat(5000) }, 'signature'],
      [{ ...good, request: 'x' }, 'request'],
      [{ ...good, request: null }, 'request'],
      [{ ...good, request: { ...r, siteId: 7 } }, 'request.siteId'],
      [{ ...good, request: { ...r, siteId: '' } }, 'request.siteId'],
      [{ ...good, request: { ...r, csrPem: undefined } }, 'request.csrPem'],
      [{ ...good, request: { ...r, csrPem: 'x'.repeat(17_000) } }, 'request.csrPem'],
      [{ ...good, request: { ...r, nonce: 'short' } }, 'request.nonce'],
      [{ ...good, request: { ...r, nonce: `${'A'.repeat(21)}=` } }, 'request.nonce'],
      [{ ...good, request: { ...r, issuedAt: 'yesterday' } }, 'request.issuedAt'],
      [{ ...good, request: { ...r, issuedAt: '2030-02-30T00:00:00+01:00' } }, 'request.issuedAt'],
      [{ ...good, request: { ...r, issuedAt: 1700000000000 } }, 'request.issuedAt'],
      [{ ...good, request: { ...r, devCertSerialHex: 'zz' } }, 'request.devCertSerialHex'],
      [{ ...good, request: { ...r, admin: 'yes' } }, 'request.admin'],
    ];
    for (const [input, fieldName] of cases) {
      expect(failure(input), JSON.stringify(input)?.slice(0, 80)).toEqual(['production-request-invalid', fieldName]);
    }
  });
});

function inspectSerial(pem: string): string {
  return inspectCertificate(pem).serialHex;
}
