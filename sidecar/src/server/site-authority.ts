import { KeybridgeError } from '../errors.ts';
import type { CertificateAuthority } from '../pki/ca.ts';
import type { AccountRecord, CertificateRecord, Registry, SiteRecord } from '../storage/registry-types.ts';
import { checkEmail, checkSiteName, openOrCreateAccount, optionalPassword, passwordRequired, requirePassword } from './accounts.ts';
import {
  CertificateIssuer,
  keyFromCsr,
  ownedFieldsDiffer,
  ownedSubject,
  partnerIssues,
  type CertificateLifetimes,
  type IssuedCertificate,
} from './certificate-issuer.ts';
import { ClientIdentifier, type CertifiedIdentity } from './client-identifier.ts';
import { PartnerAuthority, type PartnerCertificate } from './partner-authority.ts';
import { PasswordGuard } from './password-guard.ts';
import { ProductionMoves, type ProductionOutcome, type ProductionPolicy } from './production-moves.ts';

export type { CertificateLifetimes, IssuedCertificate } from './certificate-issuer.ts';
export type { CertifiedIdentity } from './client-identifier.ts';
export type { ProductionPolicy } from './production-moves.ts';

/**
 * Accounts, sites and their certificates, free of any transport (the HTTPS app calls it
 * with what TLS established). The key service's certificate authority signs every client
 * certificate; the environment is the subject OU the CA writes, never what a CSR or a
 * request body claims.
 *
 * The certificate rules of DESIGN.md: each certificate is recorded with its origin and the
 * certificate that asked for it (the site's lineage, `siteDetails`); a renewal supersedes
 * its parent after a short overlap; a revocation ends every certificate of the site and
 * environment issued up to that moment, and only the account password brings it back
 * (`reissue`); a certificate acts only within its own environment. The move to production
 * and new production hosts are production-moves.ts.
 */
export interface SiteAuthorityOptions {
  registry: Registry;
  ca: CertificateAuthority;
  region: string;
  lifetimes: CertificateLifetimes;
  productionPolicy: ProductionPolicy;
  /** How long a certificate a renewal replaced keeps working (a rename in flight must not lock the site out). */
  renewalOverlapMs?: number;
  /** Rate limits and the hashing queue for account passwords (shared with the HTTP app's per-address limits). */
  passwords?: PasswordGuard;
  now?: () => Date;
}

export const DEFAULT_RENEWAL_OVERLAP_MS = 5 * 60_000;

export interface SiteDetails {
  site: SiteRecord;
  accountEmail: string | null;
  /** Newest first. */
  certificates: CertificateRecord[];
}

export class SiteAuthority {
  readonly #registry: Registry;
  readonly #region: string;
  readonly #now: () => Date;
  readonly #overlapMs: number;
  readonly #guard: PasswordGuard;
  readonly #issuer: CertificateIssuer;
  readonly #identifier: ClientIdentifier;
  readonly #production: ProductionMoves;
  readonly #partners: PartnerAuthority;

  constructor(options: SiteAuthorityOptions) {
    this.#registry = options.registry;
    this.#region = options.region;
    this.#now = options.now ?? (() => new Date());
    this.#overlapMs = options.renewalOverlapMs ?? DEFAULT_RENEWAL_OVERLAP_MS;
    this.#guard = options.passwords ?? new PasswordGuard();
    const base = { registry: this.#registry, now: this.#now };
    this.#issuer = new CertificateIssuer({ ...base, ca: options.ca, lifetimes: options.lifetimes });
    this.#identifier = new ClientIdentifier({ ...base, caCertPem: options.ca.certPem });
    const issue = this.#issuer.issue;
    this.#production = new ProductionMoves({ ...base, issue, guard: this.#guard, policy: options.productionPolicy });
    this.#partners = new PartnerAuthority({ ...base, region: this.#region, issue, guard: this.#guard });
  }

  get caCertificatePem(): string {
    return this.#issuer.caCertificatePem;
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
    // One attempt on the account before anything costly (the CSR, a password hash): a guessing
    // storm past the account's budget costs the key service next to nothing per request.
    return this.#guard.attempt(email, async () => {
      const siteName = checkSiteName(input.siteName);
      // Checked before any account or site is stored: a CSR the CA cannot sign must leave nothing behind.
      const key = keyFromCsr(input.csrPem);
      const at = this.#now().toISOString();
      const account = await openOrCreateAccount(this.#registry, this.#guard, { email, password: optionalPassword(input.password), at });
      const site = await this.#registry.createSite({ accountId: account.accountId, name: siteName, region: this.#region, at });
      const issued = await this.#issuer.issue({
        siteId: site.siteId,
        environment: 'development',
        key,
        origin: 'registration',
        parentSerial: null,
      });
      return { ...issued, accountEmail: account.email };
    });
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

  /** The client certificate of a request (exact DER bytes, or null): checked on every request. */
  identify(certificateDer: Uint8Array | null): Promise<CertifiedIdentity> {
    return this.#identifier.identify(certificateDer);
  }

  /**
   * A fresh certificate for the same site and environment (the agent renews at 2/3 of the
   * lifetime), or a custom one when the CSR names other owner fields. The certificate it
   * replaces is refused once the overlap has passed.
   */
  async renew(identity: CertifiedIdentity, csrPem: unknown): Promise<IssuedCertificate> {
    // Before the CSR is looked at: on a partner there is nothing to renew here, whatever is sent.
    const site = await this.#registry.getSite(identity.siteId);
    if (site?.partner) throw partnerIssues(site.partner, 'renewal');
    const key = keyFromCsr(csrPem);
    const now = this.#now();
    return this.#issuer.issue({
      siteId: identity.siteId,
      environment: identity.environment,
      key,
      origin: ownedFieldsDiffer(key.subject, ownedSubject(identity.certificate.subject)) ? 'custom' : 'renewal',
      parentSerial: identity.serialHex,
      supersedeParentAt: new Date(now.getTime() + this.#overlapMs).toISOString(),
    });
  }

  /**
   * `keybridge cert revoke`: ends every certificate of the caller's site AND environment
   * issued up to now — its own, its renewals, anything a thief renewed or minted from a copy.
   * `serialHex`, if given, must be a certificate of the same site and environment: a
   * development certificate cannot touch production. Returns the serials it revoked.
   */
  async revoke(identity: CertifiedIdentity, serialHex?: unknown): Promise<string[]> {
    if (serialHex !== undefined) {
      const record = await this.#registry.getCertificate(String(serialHex));
      if (!record || record.siteId !== identity.siteId)
        throw new KeybridgeError('invalid-field', 'no such certificate of this site', { field: 'serial' });
      if (record.environment !== identity.environment) {
        throw new KeybridgeError(
          'certificate-forbidden',
          `a ${identity.environment} certificate can revoke only ${identity.environment} certificates`,
        );
      }
    }
    return this.#revokeLineage(identity.siteId, identity.environment, identity.subject, 'revoked by the site owner');
  }

  /**
   * The operator's revocation (`keybridge server cert revoke SERIAL`): the whole lineage of
   * that certificate's site and environment, up to now. Empty when the serial is unknown.
   */
  async revokeAsOperator(serialHex: string, reason: string): Promise<string[]> {
    const record = await this.#registry.getCertificate(serialHex);
    if (!record) return [];
    return this.#revokeLineage(record.siteId, record.environment, 'operator', reason);
  }

  /**
   * Brings a site back after a revocation: the certificate the host still has names the site
   * and environment (it must be one this CA issued and recorded; revoked, replaced or expired
   * is fine), the account password is the proof. Whatever of that lineage is still alive is
   * revoked first, so a re-issue also ends a thief's certificates.
   */
  async reissue(certificateDer: Uint8Array | null, input: { csrPem: unknown; password: unknown }): Promise<IssuedCertificate> {
    const old = await this.#identifier.genuine(certificateDer);
    const site = await this.#registry.getSite(old.siteId);
    if (!site) throw new KeybridgeError('certificate-invalid', 'the site no longer exists');
    if (site.partner) throw partnerIssues(site.partner, 'a re-issue');
    const account = await this.#account(site);
    if (typeof input.password !== 'string' || input.password === '') throw passwordRequired();
    await this.#guard.attempt(account.email, () => requirePassword(this.#guard, account, input.password));
    const key = keyFromCsr(input.csrPem);
    await this.#revokeLineage(site.siteId, old.environment, `account ${site.accountId}`, 're-issued with the account password');
    return this.#issuer.issue({
      siteId: site.siteId,
      environment: old.environment,
      key,
      origin: 'reissue',
      parentSerial: old.serialHex,
      requireLiveParent: false,
    });
  }

  /** The move to production (production-moves.ts): development signature + account password + policy. */
  moveToProduction(
    identity: CertifiedIdentity,
    body: { request?: unknown; signature?: unknown; password?: unknown },
  ): Promise<ProductionOutcome> {
    return this.#production.move(identity, body);
  }

  /** A production certificate signing for another production host. */
  addProductionHost(identity: CertifiedIdentity, csrPem: unknown): Promise<IssuedCertificate> {
    return this.#production.addHost(identity, csrPem);
  }

  /** The operator decides the site's ONE pending production request; false if none is pending. */
  decideProduction(siteId: string, decision: 'approved' | 'denied'): Promise<boolean> {
    return this.#production.decide(siteId, decision);
  }

  async certificates(siteId: string): Promise<CertificateRecord[]> {
    return this.#registry.listCertificates(siteId);
  }

  /** `keybridge server sites show SITE`: the site, its account and its certificate lineage; null if unknown. */
  async siteDetails(siteId: string): Promise<SiteDetails | null> {
    const site = await this.#registry.getSite(siteId);
    if (!site) return null;
    const account = await this.#registry.getAccount(site.accountId);
    return { site, accountEmail: account?.email ?? null, certificates: await this.#registry.listCertificates(siteId) };
  }

  /** Ends the password hashing thread. */
  close(): Promise<void> {
    return this.#guard.close();
  }

  /** The key service's own TLS certificate, for the hosts agents dial. */
  issueServerCertificate(publicKeyPem: string, hosts: { dnsNames: string[]; ipAddresses: string[] }, days: number): string {
    return this.#issuer.serverCertificate(publicKeyPem, hosts, days);
  }

  async #account(site: SiteRecord): Promise<AccountRecord> {
    const account = await this.#registry.getAccount(site.accountId);
    if (!account) throw new KeybridgeError('internal', 'the site has no account');
    return account;
  }

  async #revokeLineage(siteId: string, environment: CertificateRecord['environment'], by: string, reason: string): Promise<string[]> {
    const at = this.#now().toISOString();
    return this.#registry.revokeLineage({ siteId, environment, issuedUpTo: at, at, by, reason });
  }
}
