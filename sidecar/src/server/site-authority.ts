import { KeybridgeError } from '../errors.ts';
import type { CertificateAuthority } from '../pki/ca.ts';
import { issueCertificate } from '../pki/ca.ts';
import { parseCsr } from '../pki/csr.ts';
import { validateSubject } from '../pki/subject.ts';
import { environmentOf, inspectCertificate, verifyCertificate } from '../pki/inspect.ts';
import { verifyProductionRequest } from '../pki/production-request.ts';
import type { ClientIdentity, Environment } from '../protocol/keyservice.ts';
import { PARTNERS } from '../protocol/partners.ts';
import type { CertificateRecord, Registry } from '../storage/registry-types.ts';
import { checkEmail, checkSiteName, openOrCreateAccount, optionalPassword } from './accounts.ts';
import { PartnerAuthority, type OwnedKey, type PartnerCertificate } from './partner-authority.ts';

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
  /** Partner platforms (server/partner-authority.ts): it issues through this CA and registry. */
  readonly #partners: PartnerAuthority;

  constructor(options: SiteAuthorityOptions) {
    this.#registry = options.registry;
    this.#ca = options.ca;
    this.#region = options.region;
    this.#lifetimes = options.lifetimes;
    this.#policy = options.productionPolicy;
    this.#now = options.now ?? (() => new Date());
    this.#partners = new PartnerAuthority({
      registry: this.#registry,
      region: this.#region,
      now: this.#now,
      issue: (siteId, environment, key, replacesSerial) => this.#issue(siteId, environment, key, replacesSerial),
    });
  }

  get caCertificatePem(): string {
    return this.#ca.certPem;
  }

  /**
   * Registers a site under an account and issues its development certificate. A new email
   * creates the account (with the password if one is given); an existing one needs its
   * password, so nobody can add sites to someone else's account.
   */
  async register(input: {
    email: unknown;
    password?: unknown;
    siteName: unknown;
    csrPem: unknown;
  }): Promise<IssuedCertificate & { accountEmail: string }> {
    const email = checkEmail(input.email);
    const siteName = checkSiteName(input.siteName);
    const csr = parseCsr(typeof input.csrPem === 'string' ? input.csrPem : '');
    // Checked before any account or site is stored: a CSR the CA cannot sign must leave nothing behind.
    ownedSubject(csr);
    const at = this.#now().toISOString();
    const account = await openOrCreateAccount(this.#registry, { email, password: optionalPassword(input.password), at });
    const site = await this.#registry.createSite({ accountId: account.accountId, name: siteName, region: this.#region, at });
    const issued = await this.#issue(site.siteId, 'development', fromCsr(csr), null);
    return { ...issued, accountEmail: account.email };
  }

  /** `keybridge server partner issue`: a site of the partner's account and its key + certificate. */
  issuePartnerCertificate(input: {
    partner: unknown;
    platformEnvironment: unknown;
    siteName?: unknown;
    siteId?: unknown;
  }): Promise<PartnerCertificate> {
    return this.#partners.issue(input);
  }

  /** Registration on a partner platform, authenticated by the platform's certificate. */
  registerPartnerSite(identity: CertifiedIdentity, input: { email: unknown; password?: unknown }) {
    return this.#partners.register(identity, input);
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
    // Before the CSR is looked at: on a partner there is nothing to renew here, whatever is sent.
    const site = await this.#registry.getSite(identity.siteId);
    if (site?.partner) throw partnerIssues(site.partner, 'renewal');
    const csr = parseCsr(typeof csrPem === 'string' ? csrPem : '');
    return this.#issue(identity.siteId, identity.environment, fromCsr(csr), identity.serialHex);
  }

  /** Revokes the caller's own certificate, or another certificate of the same site. */
  async revoke(identity: CertifiedIdentity, serialHex?: unknown, reason = 'revoked by the site owner'): Promise<boolean> {
    const serial = serialHex === undefined ? identity.serialHex : String(serialHex).toLowerCase().replace(/^0+/, '');
    const record = await this.#registry.getCertificate(serial);
    if (!record || record.siteId !== identity.siteId)
      throw new KeybridgeError('invalid-field', 'no such certificate of this site', { field: 'serial' });
    return this.#registry.revokeCertificate(serial, { at: this.#now().toISOString(), by: identity.subject, reason });
  }

  /** Operator revocation (no site identity): `keybridge server cert revoke SERIAL`. */
  async revokeAsOperator(serialHex: string, reason: string): Promise<boolean> {
    return this.#registry.revokeCertificate(serialHex.toLowerCase().replace(/^0+/, ''), {
      at: this.#now().toISOString(),
      by: 'operator',
      reason,
    });
  }

  /**
   * The move to production: a request signed with the development certificate's key,
   * presented over TLS with that same certificate. Replays are refused by nonce; the
   * production policy decides whether it is issued now or waits for an operator.
   */
  async moveToProduction(
    identity: CertifiedIdentity,
    signed: unknown,
  ): Promise<{ status: 'issued'; certificate: IssuedCertificate } | { status: 'pending' }> {
    if (identity.environment !== 'development') {
      throw new KeybridgeError('production-request-invalid', 'only a development certificate can request production');
    }
    const request = verifyProductionRequest(signed, identity.certificatePem, { now: this.#now() });
    if (request.siteId !== identity.siteId || request.devCertSerialHex !== identity.serialHex) {
      throw new KeybridgeError('production-request-invalid', 'the request names another certificate');
    }
    const site = await this.#registry.getSite(identity.siteId);
    if (!site) throw new KeybridgeError('certificate-invalid', 'the site no longer exists');
    // Otherwise a platform's development certificate could promote itself past the platform's operator.
    if (site.partner) throw partnerIssues(site.partner, 'the move to production');
    if (this.#policy === 'approval' && site.productionApproval !== 'approved') {
      if (site.productionApproval === 'denied')
        throw new KeybridgeError('production-request-invalid', 'an operator denied production for this site');
      await this.#registry.setProductionApproval(site.siteId, 'pending', this.#now().toISOString());
      return { status: 'pending' };
    }
    // The nonce is spent only when a certificate is issued, so polling while pending is harmless.
    if (!(await this.#registry.useNonce(identity.siteId, request.nonce, this.#now().toISOString()))) {
      throw new KeybridgeError('request-replayed');
    }
    const csr = parseCsr(request.csrPem);
    return { status: 'issued', certificate: await this.#issue(identity.siteId, 'production', fromCsr(csr), identity.serialHex) };
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

  async #issue(siteId: string, environment: Environment, key: OwnedKey, replacesSerial: string | null): Promise<IssuedCertificate> {
    const now = this.#now();
    const days = environment === 'production' ? this.#lifetimes.productionDays : this.#lifetimes.developmentDays;
    const certificatePem = issueCertificate(this.#ca, {
      publicKeyPem: key.publicKeyPem,
      subject: { ...key.subject, commonName: siteId, organizationalUnit: environment },
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
    return {
      siteId,
      environment,
      certificatePem,
      caCertificatePem: this.#ca.certPem,
      serialHex: info.serialHex,
      notAfter: info.notAfter.toISOString(),
    };
  }
}

/** The key a CSR proves possession of, with the subject fields its owner may choose. */
function fromCsr(csr: ReturnType<typeof parseCsr>): OwnedKey {
  return { publicKeyPem: csr.publicKeyPem, subject: ownedSubject(csr) };
}

/** Renewal and the move to production are the platform operator's on a partner (`keybridge server partner issue`). */
function partnerIssues(partner: string, what: string): KeybridgeError {
  const title = partner in PARTNERS ? PARTNERS[partner as keyof typeof PARTNERS].title : partner;
  return new KeybridgeError(
    'invalid-field',
    `${what} is refused: ${title} issues this site's certificates; ask the platform for a new one`,
    { field: 'partner' },
  );
}

/**
 * The subject fields the owner chose (organisation, place), which the CA keeps; CN and OU are
 * the CA's. parseCsr reads any subject a CSR tool wrote (`O=Example, Inc.` from openssl), so
 * they are checked here as the CA will write them: `csr-invalid` naming the field otherwise.
 */
function ownedSubject(csr: ReturnType<typeof parseCsr>): Omit<ReturnType<typeof parseCsr>['subject'], 'commonName' | 'organizationalUnit'> {
  const { commonName: _ignored, organizationalUnit: _claimed, ...owned } = csr.subject;
  try {
    validateSubject({ ...owned, commonName: 'site' });
  } catch (error) {
    const detail = error instanceof KeybridgeError ? error.detail : undefined;
    throw new KeybridgeError('csr-invalid', `the CSR subject cannot be certified: ${detail ?? 'invalid'}`);
  }
  return owned;
}
