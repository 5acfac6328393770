import { createHash } from 'node:crypto';
import { KeybridgeError } from '../errors.ts';
import { environmentOf, validityProblem, verifyCertificate, type CertificateInfo } from '../pki/index.ts';
import type { ClientIdentity } from '../protocol/keyservice.ts';
import { certificateEndedAt, type CertificateRecord, type Registry } from '../storage/registry-types.ts';

/**
 * Who a client certificate says the caller is. The certificate is taken as the exact DER
 * bytes TLS received (never a PEM rebuilt from them) and must be the very certificate the
 * registry recorded: same serial, same SHA-256 of those bytes, same site and environment.
 * Every request goes through `identify`, so a revoked certificate is refused on its next
 * request, on a fresh connection or a kept-alive one alike.
 *
 * What the CA's signature says about a DER never changes, so it is checked once per DER
 * (parsing with two parsers and an RSA verification cost ~2 ms of CPU a request); the time
 * window and the registry (revocation, supersession) are checked on every request.
 */
export interface CertifiedIdentity extends ClientIdentity {
  serialHex: string;
  /** The DER bytes the client presented. */
  certificateDer: Uint8Array;
  certificate: CertificateInfo;
}

/** "Last seen" is written at most this often per certificate and node: never a write per request. */
export const LAST_SEEN_EVERY_MS = 60_000;

export class ClientIdentifier {
  readonly #registry: Registry;
  readonly #caCertPem: string;
  readonly #now: () => Date;
  /** serial → when this node last wrote its "last seen" (ms). Bounded: cleared when large. */
  readonly #seen = new Map<string, number>();
  /** SHA-256 of a DER → what it says, for DERs this CA is known to have signed. Bounded the same way. */
  readonly #signed = new Map<string, CertificateInfo>();

  constructor(options: { registry: Registry; caCertPem: string; now: () => Date }) {
    this.#registry = options.registry;
    this.#caCertPem = options.caCertPem;
    this.#now = options.now;
  }

  async identify(der: Uint8Array | null): Promise<CertifiedIdentity> {
    const now = this.#now();
    const { record, info } = await this.#recorded(der, now, false);
    if (record.revokedAt) throw new KeybridgeError('certificate-revoked');
    if (certificateEndedAt(record, now.toISOString())) {
      throw new KeybridgeError('certificate-revoked', 'a renewal replaced this certificate: use the new one');
    }
    this.#noteSeen(record.serialHex, now);
    return {
      siteId: record.siteId,
      environment: record.environment,
      subject: `CN=${record.siteId},OU=${record.environment},serial=${record.serialHex}`,
      serialHex: record.serialHex,
      certificateDer: der!,
      certificate: info,
    };
  }

  /**
   * A certificate this CA issued and recorded, whether or not it is still accepted (revoked,
   * superseded or expired): for the re-issue, where it only names the site and environment
   * and the account password is the proof.
   */
  async genuine(der: Uint8Array | null): Promise<CertificateRecord> {
    return (await this.#recorded(der, this.#now(), true)).record;
  }

  async #recorded(
    der: Uint8Array | null,
    now: Date,
    expiredIsFine: boolean,
  ): Promise<{ record: CertificateRecord; info: CertificateInfo }> {
    if (!der || der.length === 0) throw new KeybridgeError('certificate-invalid', 'no client certificate was presented');
    const info = this.#signedBy(der, now);
    const outside = validityProblem(info, now, { allowExpired: expiredIsFine });
    if (outside) throw new KeybridgeError('certificate-invalid', outside);
    const record = await this.#registry.getCertificate(info.serialHex);
    if (!record) throw new KeybridgeError('certificate-invalid', 'not issued to a site of this key service');
    if (environmentOf(info) !== record.environment || info.subject.commonName !== record.siteId) {
      throw new KeybridgeError('certificate-invalid', 'subject does not match the issued certificate');
    }
    if (info.fingerprintSha256 !== record.fingerprintSha256) {
      throw new KeybridgeError('certificate-invalid', 'not the certificate issued with this serial');
    }
    return { record, info };
  }

  /** What `der` says, once the CA's signature on it was checked (cached by its SHA-256). */
  #signedBy(der: Uint8Array, now: Date): CertificateInfo {
    const digest = createHash('sha256').update(der).digest('hex');
    const known = this.#signed.get(digest);
    if (known) return known;
    // Time is checked by the caller on every request: here only what never changes.
    const verified = verifyCertificate(der, this.#caCertPem, now, { checkTime: false });
    if (!verified.ok) throw new KeybridgeError('certificate-invalid', verified.reason);
    if (this.#signed.size >= 10_000) this.#signed.clear();
    this.#signed.set(digest, verified.info);
    return verified.info;
  }

  #noteSeen(serial: string, now: Date): void {
    const last = this.#seen.get(serial);
    if (last !== undefined && now.getTime() - last < LAST_SEEN_EVERY_MS) return;
    if (this.#seen.size >= 100_000) this.#seen.clear();
    this.#seen.set(serial, now.getTime());
    // Not awaited: a request never waits for this bookkeeping, and a failure only delays it.
    this.#registry.touchCertificate(serial, now.toISOString()).catch(() => this.#seen.delete(serial));
  }
}
