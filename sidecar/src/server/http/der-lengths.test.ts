import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestKeyServer, type TestKeyServer } from '../../../test-helpers/keyservice.ts';
import { rawRequest, registerRaw, tlsAgent } from '../../../test-helpers/mtls.ts';
import { createCsr, type KeyPair } from '../../pki/index.ts';

/**
 * Issue 13, finding 4: the key service rebuilt a client certificate's PEM from its DER and
 * left an empty line before `-----END` when the base64 length was a multiple of 64 (DER
 * lengths ≡ 46, 47, 0 mod 48), then refused the site's own certificate: 1 in 16 locked out.
 * It now compares the exact DER bytes. Here certificates of many subject lengths are issued
 * by the real key service (renewals with a growing organisation name) until every DER length
 * class mod 48 is covered, and each one is used for real requests over mutual TLS.
 */
let server: TestKeyServer;
let keyPair: KeyPair;
let certificatePem: string;

beforeAll(async () => {
  server = await startTestKeyServer();
  const registered = await registerRaw(server, { email: 'der@example.com', siteName: 'DER lengths' });
  expect(registered.response.status, registered.response.text).toBe(200);
  keyPair = registered.keyPair;
  certificatePem = registered.response.json.certificate;
});

afterAll(async () => {
  await server?.stop();
});

/** The certificate's own connection (kept alive for its few requests). */
const connect = (certPem: string) => tlsAgent(server.caCertPem, { keyPem: keyPair.privateKeyPem, certPem }, true);

describe('client certificates of every DER length class', () => {
  it('are each accepted for whoami, a read and a renewal', async () => {
    const covered = new Map<number, number>();
    const lengths: number[] = [];
    // The key is the same for all (a CSR proves possession of it): only the subject length changes.
    // First short subjects, as agents make them: one length in 48 is skipped where the subject's
    // DER length needs a second length byte (128), so then long subjects (place and state
    // filled in), which are past that step and cover the class it skipped.
    const subjects = [
      ...Array.from({ length: 63 }, (_, k) => ({ organization: `O${'x'.repeat(k)}` })),
      ...Array.from({ length: 63 }, (_, k) => ({ organization: `O${'x'.repeat(k)}`, locality: 'L'.repeat(63), state: 'S'.repeat(20) })),
    ];
    for (const [attempt, subject] of subjects.entries()) {
      if (attempt >= 63 && covered.size === 48) break;
      const csr = createCsr(keyPair, { commonName: 'site', ...subject });
      const previous = connect(certificatePem);
      try {
        const renewed = await rawRequest(server.url, 'POST', '/ks/v1/site/certificates/renew', { agent: previous, body: { csr } });
        expect(renewed.status, `renewal ${attempt} (DER ${lengths.at(-1)} bytes): ${renewed.text}`).toBe(200);
        certificatePem = renewed.json.certificate;
      } finally {
        previous.destroy();
      }
      const der = new X509Certificate(certificatePem).raw;
      lengths.push(der.length);

      const agent = connect(certificatePem);
      try {
        const whoami = await rawRequest(server.url, 'GET', '/ks/v1/site/whoami', { agent });
        expect(whoami.status, `DER of ${der.length} bytes: ${whoami.text}`).toBe(200);
        expect(whoami.json.serial).toBe(new X509Certificate(certificatePem).serialNumber.toLowerCase().replace(/^0+/, ''));
        const list = await rawRequest(server.url, 'POST', '/ks/v1/site/secrets/list', { agent, body: {} });
        expect(list.status, `DER of ${der.length} bytes: ${list.text}`).toBe(200);
      } finally {
        agent.destroy();
      }
      covered.set(der.length % 48, der.length);
    }
    expect(
      [...covered.keys()].sort((a, b) => a - b),
      `DER lengths seen: ${lengths.join(' ')}`,
    ).toEqual(Array.from({ length: 48 }, (_, i) => i));
    // The three classes the rebuilt PEM broke, named: base64 of a multiple of 64 characters.
    for (const broken of [46, 47, 0]) expect((Math.ceil(covered.get(broken)! / 3) * 4) % 64).toBe(0);
  });
});
