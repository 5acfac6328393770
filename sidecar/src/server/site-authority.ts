import { hashPassword, verifyPassword } from '../crypto/index.ts';
import { KeybridgeError } from '../errors.ts';
import type { CertificateAuthority } from '../pki/ca.ts';
import { issueCertificate } from '../pki/ca.ts';
import { parseCsr } from '../pki/csr.ts';
import { environmentOf, inspectCertificate, verifyCertificate } from '../pki/inspect.ts';
import { verifyProductionRequest } from '../pki/production-request.ts';
import type { ClientIdentity, Environment } from '../protocol/keyservice.ts';
import type { CertificateRecord, Registry } from '../storage/registry-types.ts';

/**
 * Accounts, sites and their certificates, free of any transport (the HTTPS app calls it
 * with what TLS established). The key service's certificate authority signs every client
 * certificate; the environment is the subject OU the CA writes, never what a CSR or a
 * request body claims.
 */
export interface CertificateLifetimes {
  developmentDays: number;
  productionDays: number;
}

/** `open`: a valid development certificate may move itself; `approval`: an operator must approve first. */
export type ProductionPolicy = 'open' | 'approval';

export interface SiteAuthorityOptions {
  registry: Registry;
  ca: CertificateAuthority;
  region: string;
  lifetimes: CertificateLifetimes;
  productionPolicy: ProductionPolicy;
  now?: () => Date;
}

/** Who a verified client certificate says the caller is. */
export interface CertifiedIdentity extends ClientIdentity {
  serialHex: string;
  certificatePem: string;
}

export interface IssuedCertificate {
  siteId: string;
  environment: Environment;
  certificatePem: string;
  caCertificatePem: string;
  serialHex: string;
  notAfter: string;
}

/** Stored for an account made without a password (as a locked /etc/shadow entry): no password opens it. */
const NO_PASSWORD = '!';
const EMAIL = /^[^\s@<>()",;:\\[\]]{1,64}@[A-Za-z0-9.-]{1,190}\.[A-Za-z]{2,}$/;
const DAY_MS = 24 * 60 * 60 * 1000;
/** Certificates start a few minutes in the past so an agent whose clock lags can use them at once. */
const BACKDATE_MS = 5 * 60 * 1000;

export class SiteAuthority {
  readonly #registry: Registry;
  readonly #ca: CertificateAuthority;
  readonly #region: string;
  readonly #lifetimes: CertificateLifetimes;
  readonly #policy: ProductionPolicy;
  readonly #now: () => Date;

  constructor(options: SiteAuthorityOptions) {
    this.#registry = options.registry;
    this.#ca = options.ca;
    this.#region = options.region;
    this.#lifetimes = options.lifetimes;
    this.#policy = options.productionPolicy;
    this.#now = options.now ?? (() => new Date());
  }

  get caCertificatePem(): string {
    return this.#ca.certPem;
  }

  /**
   * Registers a site under an account and issues its development certificate. A new email
   * creates the account (with the password if one is given); an existing one needs its
   * password, so nobody can add sites to someone else's account.
   */
  async register(input: { email: unknown; password?: unknown; siteName: unknown; csrPem: unknown }): Promise<IssuedCertificate & { accountEmail: string }> {
    const email = checkEmail(input.email);
    const siteName = checkSiteName(input.siteName);
    const csr = parseCsr(typeof input.csrPem === 'string' ? input.csrPem : '');
    const password = input.password === undefined || input.password === null ? undefined : String(input.password);
    const at = this.#now().toISOString();

    let account = await this.#registry.findAccountByEmail(email);
    if (account) {
      if (password === undefined) throw new KeybridgeError('account-exists', undefined, { field: 'password' });
      if (account.passwordHash === NO_PASSWORD || !(await verifyPassword(password, account.passwordHash))) {
        throw new KeybridgeError('credentials-invalid');
      }
    } else {
      account = await this.#registry.createAccount({ email, passwordHash: password === undefined ? NO_PASSWORD : await hashPassword(password), at });
    }
    const site = await this.#registry.createSite({ accountId: account.accountId, name: siteName, region: this.#region, at });
    const issued = await this.#issue(site.siteId, 'development', csr, null);
    return { ...issued, accountEmail: account.email };
  }

  /**
   * Checks a client certificate presented over TLS: issued by this CA, inside its validity
   * (with clock skew), recorded here and not revoked. Every request goes through this, so a
   * revoked certificate is refused on its next request.
   */
  async identify(certificatePem: string | null): Promise<CertifiedIdentity> {
    if (!certificatePem) throw new KeybridgeError('certificate-invalid', 'no client certificate was presented');
    const verified = verifyCertificate(certificatePem, this.#ca.certPem, this.#now());
    if (!verified.ok) throw new KeybridgeError('certificate-invalid', verified.reason);
    const record = await this.#registry.getCertificate(verified.info.serialHex);
    if (!record) throw new KeybridgeError('certificate-invalid', 'not issued to a site of this key service');
    if (record.revokedAt) throw new KeybridgeError('certificate-revoked');
    const environment = environmentOf(verified.info);
    if (environment !== record.environment || verified.info.subject.commonName !== record.siteId) {
      throw new KeybridgeError('certificate-invalid', 'subject does not match the issued certificate');
    }
    return {
      siteId: record.siteId,
      environment,
      subject: `CN=${record.siteId},OU=${environment},serial=${record.serialHex}`,
      serialHex: record.serialHex,
      certificatePem,
    };
  }

  /** A fresh certificate for the same site and environment (the agent renews at 2/3 of the lifetime). */
  async renew(identity: CertifiedIdentity, csrPem: unknown): Promise<IssuedCertificate> {
    const csr = parseCsr(typeof csrPem === 'string' ? csrPem : '');
    return this.#issue(identity.siteId, identity.environment, csr, identity.serialHex);
  }

  /** Revokes the caller's own certificate, or another certificate of the same site. */
  async revoke(identity: CertifiedIdentity, serialHex?: unknown, reason = 'revoked by the site owner'): Promise<boolean> {
    const serial = serialHex === undefined ? identity.serialHex : String(serialHex).toLowerCase().replace(/^0+/, '');
    const record = await this.#registry.getCertificate(serial);
    if (!record || record.siteId !== identity.siteId) throw new KeybridgeError('invalid-field', 'no such certificate of this site', { field: 'serial' });
    return this.#registry.revokeCertificate(serial, { at: this.#now().toISOString(), by: identity.subject, reason });
  }

  /** Operator revocation (no site identity): `keybridge server cert revoke SERIAL`. */
  async revokeAsOperator(serialHex: string, reason: string): Promise<boolean> {
    return this.#registry.revokeCertificate(serialHex.toLowerCase().replace(/^0+/, ''), { at: this.#now().toISOString(), by: 'operator', reason });
  }

  /**
   * The move to production: a request signed with the development certificate's key,
   * presented over TLS with that same certificate. Replays are refused by nonce; the
   * production policy decides whether it is issued now or waits for an operator.
   */
  async moveToProduction(identity: CertifiedIdentity, signed: unknown): Promise<{ status: 'issued'; certificate: IssuedCertificate } | { status: 'pending' }> {
    if (identity.environment !== 'development') {
      throw new KeybridgeError('production-request-invalid', 'only a development certificate can request production');
    }
    const request = verifyProductionRequest(signed, identity.certificatePem, { now: this.#now() });
    if (request.siteId !== identity.siteId || request.devCertSerialHex !== identity.serialHex) {
      throw new KeybridgeError('production-request-invalid', 'the request names another certificate');
    }
    const site = await this.#registry.getSite(identity.siteId);
    if (!site) throw new KeybridgeError('certificate-invalid', 'the site no longer exists');
    if (this.#policy === 'approval' && site.productionApproval !== 'approved') {
      if (site.productionApproval === 'denied') throw new KeybridgeError('production-request-invalid', 'an operator denied production for this site');
      await this.#registry.setProductionApproval(site.siteId, 'pending', this.#now().toISOString());
      return { status: 'pending' };
    }
    // The nonce is spent only when a certificate is issued, so polling while pending is harmless.
    if (!(await this.#registry.useNonce(identity.siteId, request.nonce, this.#now().toISOString()))) {
      throw new KeybridgeError('request-replayed');
    }
    const csr = parseCsr(request.csrPem);
    return { status: 'issued', certificate: await this.#issue(identity.siteId, 'production', csr, identity.serialHex) };
  }

  async approveProduction(siteId: string, approval: 'approved' | 'denied'): Promise<boolean> {
    return this.#registry.setProductionApproval(siteId, approval, this.#now().toISOString());
  }

  async certificates(siteId: string): Promise<CertificateRecord[]> {
    return this.#registry.listCertificates(siteId);
  }

  /** The key service's own TLS certificate, for the hosts agents dial. */
  issueServerCertificate(publicKeyPem: string, hosts: { dnsNames: string[]; ipAddresses: string[] }, days: number): string {
    const now = this.#now();
    return issueCertificate(this.#ca, {
      publicKeyPem,
      subject: { commonName: hosts.dnsNames[0] ?? hosts.ipAddresses[0] ?? 'keybridge-server' },
      notBefore: new Date(now.getTime() - BACKDATE_MS),
      notAfter: new Date(now.getTime() + days * DAY_MS),
      usage: 'server',
      ...hosts,
    });
  }

  async #issue(siteId: string, environment: Environment, csr: ReturnType<typeof parseCsr>, replacesSerial: string | null): Promise<IssuedCertificate> {
    const now = this.#now();
    const days = environment === 'production' ? this.#lifetimes.productionDays : this.#lifetimes.developmentDays;
    // Subject fields the owner chose (organisation, place) are kept; CN and OU are the CA's.
    const { commonName: _ignored, organizationalUnit: _claimed, ...owned } = csr.subject;
    const certificatePem = issueCertificate(this.#ca, {
      publicKeyPem: csr.publicKeyPem,
      subject: { ...owned, commonName: siteId, organizationalUnit: environment },
      notBefore: new Date(now.getTime() - BACKDATE_MS),
      notAfter: new Date(now.getTime() + days * DAY_MS),
      usage: 'client',
    });
    const info = inspectCertificate(certificatePem);
    await this.#registry.recordCertificate({
      serialHex: info.serialHex,
      siteId,
      environment,
      fingerprintSha256: info.fingerprintSha256,
      notBefore: info.notBefore.toISOString(),
      notAfter: info.notAfter.toISOString(),
      issuedAt: now.toISOString(),
      replacesSerial,
    });
    return { siteId, environment, certificatePem, caCertificatePem: this.#ca.certPem, serialHex: info.serialHex, notAfter: info.notAfter.toISOString() };
  }
}

function checkEmail(value: unknown): string {
  if (typeof value !== 'string' || value.length > 254 || !EMAIL.test(value.trim())) {
    throw new KeybridgeError('invalid-field', 'must be an email address', { field: 'email' });
  }
  return value.trim().toLowerCase();
}

function checkSiteName(value: unknown): string {
  if (typeof value !== 'string' || value.trim().length === 0 || [...value].length > 100 || /[\p{Cc}\p{Cf}]/u.test(value)) {
    throw new KeybridgeError('invalid-field', 'must be 1 to 100 printable characters', { field: 'site_name' });
  }
  return value.trim();
}
