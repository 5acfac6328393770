import { KS_PATHS } from '../../protocol/keyservice.ts';
import { existsSync } from 'node:fs';
import { KeybridgeError } from '../../errors.ts';
import {
  createCsr,
  createProductionRequest,
  generateKeyPairAsync,
  signProductionRequest,
  validateSubjectInput,
  type SubjectFields,
} from '../../pki/index.ts';
import type { HttpsKeyServiceClient } from '../keyservice/https-client.ts';
import { partnerRefusal } from './partner.ts';
import type { CertificateStore, SiteCredentials } from './store.ts';

/**
 * Everything the agent does with certificates: registration, the custom certificate,
 * renewal, the move to production and revocation. Private keys are made here, never
 * leave this host, and land on disk only in the certificate directory.
 *
 * On a partner platform the platform's certificate is the site's: registration only names
 * the owner's account, and every call that would make or replace a certificate is refused.
 */
export interface IssuedJson {
  site_id: string;
  environment: 'development' | 'production';
  certificate: string;
  ca_certificate: string;
  serial: string;
  not_after: string;
  account_email?: string;
}

/** The account password a call needs: refused here, before a key pair is made, when missing. */
function requiredPassword(password: unknown): string {
  if (typeof password !== 'string' || password === '') {
    throw new KeybridgeError('invalid-field', "the account's password is required", { field: 'password' });
  }
  return password;
}

/** Renew once two thirds of a certificate's lifetime have passed. */
export const RENEW_AT_FRACTION = 2 / 3;

export class Registrar {
  constructor(
    private readonly store: CertificateStore,
    private readonly client: HttpsKeyServiceClient,
  ) {}

  async register(input: { email: unknown; password?: unknown; siteName: unknown }): Promise<SiteCredentials> {
    if (this.store.isRegistered()) throw new KeybridgeError('already-registered', this.store.dir);
    if (this.store.partner) return this.#registerOnPartner(input);
    // Checked before a key pair is made; the key service checks the name itself too.
    if (input.siteName === undefined || input.siteName === null || input.siteName === '') {
      throw new KeybridgeError('invalid-field', 'a site name is required (only a partner platform registers without one)', {
        field: 'site_name',
      });
    }
    const keyPair = await generateKeyPairAsync();
    // The CA writes CN and OU itself; the CSR carries only the key.
    const csr = createCsr(keyPair, { commonName: 'keybridge site' });
    const body: Record<string, unknown> = { email: input.email, site_name: input.siteName, csr };
    if (input.password !== undefined && input.password !== null && input.password !== '') body.password = input.password;
    const issued = await this.client.call<IssuedJson>('POST', KS_PATHS.register, body, false);
    return this.store.installRegistration({
      siteId: issued.site_id,
      accountEmail: issued.account_email ?? String(input.email),
      keyPem: keyPair.privateKeyPem,
      certPem: issued.certificate,
      caPem: issued.ca_certificate,
    });
  }

  /**
   * Sent with the platform's certificate over mutual TLS, which proves the site: only the
   * email (and the password of an existing account). site_name is not sent: the operator
   * named the site when issuing the certificate. Writes site.json and nothing else.
   */
  async #registerOnPartner(input: { email: unknown; password?: unknown }): Promise<SiteCredentials> {
    const { certFile } = this.store.partner!;
    if (!existsSync(certFile))
      throw new KeybridgeError('config-invalid', `partner.certFile: ${certFile} does not exist (the platform installs it)`, {
        field: 'partner.certFile',
      });
    const body: Record<string, unknown> = { email: input.email };
    if (input.password !== undefined && input.password !== null && input.password !== '') body.password = input.password;
    const answer = await this.client.call<{ site_id: string; account_email: string }>('POST', KS_PATHS.partnerRegister, body);
    return this.store.installPartnerRegistration({ siteId: answer.site_id, accountEmail: answer.account_email });
  }

  /** A development certificate whose subject names the owner (country, state, locality, organisation). */
  async createCustomCertificate(input: {
    country: unknown;
    state: unknown;
    locality: unknown;
    organization: unknown;
  }): Promise<SiteCredentials> {
    if (this.store.partner) throw partnerRefusal(this.store.partner, 'a custom certificate');
    const current = this.store.require();
    if (current.environment !== 'development') {
      throw new KeybridgeError('invalid-field', 'custom certificates are development certificates; this site is in production', {
        field: 'environment',
      });
    }
    const subject = validateSubjectInput(input as never);
    return this.#replace(
      (keyPair) => createCsr(keyPair, { commonName: current.siteId, ...subject } as SubjectFields),
      KS_PATHS.certificatesRenew,
    );
  }

  async renew(): Promise<SiteCredentials> {
    if (this.store.partner) throw partnerRefusal(this.store.partner, 'renewal');
    const current = this.store.require();
    const { commonName: _cn, organizationalUnit: _ou, ...owned } = current.certificate.subject;
    return this.#replace((keyPair) => createCsr(keyPair, { commonName: current.siteId, ...owned }), KS_PATHS.certificatesRenew);
  }

  /** Renews when two thirds of the lifetime have passed; returns whether it did. */
  async renewIfDue(now = new Date()): Promise<boolean> {
    // The platform renews its own certificate: the renewal timer has nothing to do there.
    if (this.store.partner) return false;
    const current = this.store.current();
    if (!current) return false;
    const { notBefore, notAfter } = current.certificate;
    const due = notBefore.getTime() + (notAfter.getTime() - notBefore.getTime()) * RENEW_AT_FRACTION;
    if (now.getTime() < due) return false;
    await this.renew();
    return true;
  }

  /**
   * The move to production: a new key and CSR, the request signed with the development
   * key and sent over TLS with the development certificate, with the account password
   * (a copy of a development host holds no password, so it cannot mint production). Under an
   * approval policy the key service answers `pending` and nothing changes here until an
   * operator approves that request and this is run again.
   */
  async moveToProduction(password: unknown): Promise<{ status: 'issued'; credentials: SiteCredentials } | { status: 'pending' }> {
    if (this.store.partner) throw partnerRefusal(this.store.partner, 'the move to production');
    const secret = requiredPassword(password);
    const current = this.store.require();
    if (current.environment === 'production')
      throw new KeybridgeError('invalid-field', 'this site is already in production', { field: 'environment' });
    const keyPair = await generateKeyPairAsync();
    const { commonName: _cn, organizationalUnit: _ou, ...owned } = current.certificate.subject;
    const csrPem = createCsr(keyPair, { commonName: current.siteId, ...owned });
    const request = createProductionRequest({ siteId: current.siteId, csrPem, devCertSerialHex: current.certificate.serialHex });
    const signed = signProductionRequest(request, current.tls.keyPem);
    const answer = await this.client.call<{ status: 'issued' | 'pending' } & Partial<IssuedJson>>('POST', KS_PATHS.production, {
      ...signed,
      password: secret,
    });
    if (answer.status === 'pending') return { status: 'pending' };
    if (answer.environment !== 'production' || !answer.certificate)
      throw new KeybridgeError('internal', 'the key service did not issue a production certificate');
    return { status: 'issued', credentials: this.store.installCertificate(keyPair.privateKeyPem, answer.certificate) };
  }

  /**
   * Revokes, at the key service, every certificate of this site and environment issued up to
   * now: this one, its renewals, and whatever a copy of this host renewed or minted. From the
   * next request on they open nothing; `reissue` brings the site back.
   */
  async revoke(): Promise<void> {
    this.store.require();
    await this.client.call<{ revoked: boolean }>('POST', KS_PATHS.certificatesRevoke, {});
  }

  /**
   * After a revocation: a new key and certificate for this site and environment, authorised by
   * the account password. The old certificate (revoked, replaced or expired) only names the
   * site; the key service revokes whatever of its lineage is still alive first.
   */
  async reissue(password: unknown): Promise<SiteCredentials> {
    if (this.store.partner) throw partnerRefusal(this.store.partner, 'a re-issue');
    const secret = requiredPassword(password);
    const current = this.store.require();
    const { commonName: _cn, organizationalUnit: _ou, ...owned } = current.certificate.subject;
    const keyPair = await generateKeyPairAsync();
    const csr = createCsr(keyPair, { commonName: current.siteId, ...owned });
    const issued = await this.client.call<IssuedJson>('POST', KS_PATHS.reissue, { csr, password: secret });
    return this.store.installCertificate(keyPair.privateKeyPem, issued.certificate);
  }

  async #replace(makeCsr: (keyPair: { privateKeyPem: string; publicKeyPem: string }) => string, path: string): Promise<SiteCredentials> {
    const keyPair = await generateKeyPairAsync();
    const issued = await this.client.call<IssuedJson>('POST', path, { csr: makeCsr(keyPair) });
    return this.store.installCertificate(keyPair.privateKeyPem, issued.certificate);
  }
}
