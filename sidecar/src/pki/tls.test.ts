/**
 * The certificates in a real mutual-TLS handshake on loopback: node:https (OpenSSL) must accept
 * exactly what verifyCertificate accepts, and refuse the rest for the same reason.
 */
import { X509Certificate } from 'node:crypto';
import { createServer, request, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCertificateAuthority, issueCertificate, type CertificateAuthority } from './ca.ts';
import { environmentOf, verifyCertificate } from './inspect.ts';
import { generateKeyPair } from './keys.ts';
import { clientCert, DAY, HOUR, selfSignedCert, testCa, type Issued } from '../../test-helpers/pki-fixtures.ts';

interface Seen {
  authorized: boolean;
  error: string | null;
  /** verifyCertificate on the certificate the server received. */
  verdict: string;
  environment: string | null;
}

let ca: CertificateAuthority;
let server: Server;
let port: number;

function pemOf(der: Buffer): string {
  return new X509Certificate(der).toString();
}

beforeAll(async () => {
  ca = testCa();
  const serverKey = generateKeyPair();
  const serverCert = issueCertificate(ca, {
    publicKeyPem: serverKey.publicKeyPem,
    subject: { commonName: 'localhost' },
    notBefore: new Date(Date.now() - HOUR),
    notAfter: new Date(Date.now() + DAY),
    usage: 'server',
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1'],
  });
  // rejectUnauthorized: false lets the handshake finish so the test can see WHY a client was refused.
  server = createServer(
    { key: serverKey.privateKeyPem, cert: serverCert, ca: [ca.certPem], requestCert: true, rejectUnauthorized: false },
    (req, res) => {
      const socket = req.socket as TLSSocket;
      const peer = socket.getPeerCertificate();
      let verdict = 'no certificate';
      let environment: string | null = null;
      if (peer && peer.raw) {
        const result = verifyCertificate(pemOf(peer.raw), ca.certPem, new Date());
        verdict = result.ok ? 'ok' : result.reason;
        if (result.ok) environment = environmentOf(result.info);
      }
      const error = socket.authorizationError ? String(socket.authorizationError) : null;
      const seen: Seen = { authorized: socket.authorized, error, verdict, environment };
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(seen));
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

/** One request with this client certificate; the client checks the server against our CA. */
function call(client?: Issued): Promise<Seen> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/',
        method: 'GET',
        ca: [ca.certPem],
        agent: false,
        ...(client ? { key: client.keyPair.privateKeyPem, cert: client.certPem } : {}),
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => (body += chunk));
        res.on('end', () => resolve(JSON.parse(body) as Seen));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('mutual TLS with keybridge certificates', () => {
  it('authorizes a client certificate of this CA, whose environment reads back', async () => {
    const seen = await call(clientCert(ca, { environment: 'production' }));
    expect(seen).toEqual({ authorized: true, error: null, verdict: 'ok', environment: 'production' });
  });

  it('refuses a client certificate from another CA', async () => {
    const other = createCertificateAuthority({ commonName: 'another CA', validityDays: 60 });
    const seen = await call(clientCert(other));
    expect(seen.authorized).toBe(false);
    expect(seen.error).toMatch(/UNABLE_TO_(GET_ISSUER_CERT|VERIFY_LEAF_SIGNATURE)/);
    expect(seen.verdict).toBe('wrong-issuer');
  });

  it('refuses a self-signed client certificate', async () => {
    const seen = await call(selfSignedCert());
    expect(seen).toMatchObject({ authorized: false, error: 'DEPTH_ZERO_SELF_SIGNED_CERT', verdict: 'self-signed' });
  });

  it('refuses an expired client certificate', async () => {
    const t = Date.now();
    const seen = await call(clientCert(ca, { notBefore: new Date(t - 10 * DAY), notAfter: new Date(t - DAY) }));
    expect(seen).toMatchObject({ authorized: false, error: 'CERT_HAS_EXPIRED', verdict: 'expired' });
  });

  it('refuses a client certificate that is not valid yet', async () => {
    const t = Date.now();
    const seen = await call(clientCert(ca, { notBefore: new Date(t + DAY), notAfter: new Date(t + 10 * DAY) }));
    expect(seen).toMatchObject({ authorized: false, error: 'CERT_NOT_YET_VALID', verdict: 'not-yet-valid' });
  });

  it('refuses a server certificate offered as a client certificate (extKeyUsage), though this CA issued it', async () => {
    const key = generateKeyPair();
    const cert = issueCertificate(ca, {
      publicKeyPem: key.publicKeyPem,
      subject: { commonName: 'site-1', organizationalUnit: 'production' },
      notBefore: new Date(Date.now() - HOUR),
      notAfter: new Date(Date.now() + DAY),
      usage: 'server',
      dnsNames: ['localhost'],
    });
    const seen = await call({ keyPair: key, certPem: cert });
    expect(seen.authorized).toBe(false);
    expect(seen.error).toMatch(/PURPOSE/);
    expect(seen.verdict).toBe('ok'); // verifyCertificate checks issuance only: the TLS layer is what refuses this
  });

  it('refuses a client without a certificate', async () => {
    const seen = await call();
    expect(seen.authorized).toBe(false);
    expect(seen.verdict).toBe('no certificate');
  });
});
