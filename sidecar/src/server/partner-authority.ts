import { KeybridgeError } from '../errors.ts';
import { generateKeyPairAsync } from '../pki/keys.ts';
import type { Environment } from '../protocol/keyservice.ts';
import {
  isPartnerName,
  PARTNERS,
  partnerEnvironment,
  PLATFORM_ENVIRONMENT,
  type PartnerName,
  type PartnerProfile,
} from '../protocol/partners.ts';
import type { AccountRecord, Registry, SiteRecord } from '../storage/registry-types.ts';
import { checkEmail, checkSiteName, NO_PASSWORD, openOrCreateAccount, optionalPassword } from './accounts.ts';
import type { Issue, IssuedCertificate } from './certificate-issuer.ts';
import type { CertifiedIdentity } from './client-identifier.ts';
import type { PasswordGuard } from './password-guard.ts';

/**
 * Partner platforms (DESIGN.md, "Environments, partners, regions"): on Pantheon the platform's
 * own certificate (binding.pem) is the site's client certificate. The key service's operator
 * issues those certificates for the platform — key and certificate in one file the platform
 * installs — so a partner site never makes a key, a CSR or a certificate itself; it only
 * names its owner's account when it registers.
 *
 * Kept apart from SiteAuthority so that class stays about the ordinary flow; it issues
 * through the same CA and records like any certificate (origin `partner-binding`, no parent:
 * the operator asked for it).
 */

export interface PartnerCertificate extends IssuedCertificate {
  /** Made here, returned once for the platform's file; the key service keeps no copy. */
  privateKeyPem: string;
  partner: PartnerName;
  platformEnvironment: string;
  siteName: string;
}

export interface PartnerRegistration {
  siteId: string;
  environment: Environment;
  partner: PartnerName;
  accountEmail: string;
}

export class PartnerAuthority {
  readonly #registry: Registry;
  readonly #region: string;
  readonly #now: () => Date;
  readonly #issue: Issue;
  readonly #guard: PasswordGuard;

  constructor(options: { registry: Registry; region: string; now: () => Date; issue: Issue; guard: PasswordGuard }) {
    this.#registry = options.registry;
    this.#region = options.region;
    this.#now = options.now;
    this.#issue = options.issue;
    this.#guard = options.guard;
  }

  /**
   * A certificate for one environment of a partner site: `live` is production, every other
   * environment development (protocol/partners.ts). The subject says where it belongs:
   * O=<partner>, L=<platform environment>, beside the CA's CN=<site id>, OU=<environment>.
   * Without `siteId` a new site is made under the partner's account; with it, an existing
   * site of that partner gets a fresh certificate (the platform's renewal), so the agent's
   * site.json keeps matching.
   */
  async issue(input: {
    partner: unknown;
    platformEnvironment: unknown;
    siteName?: unknown;
    siteId?: unknown;
  }): Promise<PartnerCertificate> {
    const partner = partnerProfile(input.partner);
    const platformEnvironment = input.platformEnvironment;
    if (typeof platformEnvironment !== 'string' || !PLATFORM_ENVIRONMENT.test(platformEnvironment)) {
      throw new KeybridgeError('invalid-field', 'must be a platform environment name such as live, test or dev', { field: 'environment' });
    }
    const environment = partnerEnvironment(partner.name, platformEnvironment);
    const at = this.#now().toISOString();
    let site: SiteRecord;
    if (input.siteId !== undefined) {
      const found = typeof input.siteId === 'string' ? await this.#registry.getSite(input.siteId) : null;
      if (!found || found.partner !== partner.name)
        throw new KeybridgeError('invalid-field', `no ${partner.title} site with this id`, { field: 'site' });
      site = found;
    } else {
      const name = checkSiteName(input.siteName);
      const account = await this.#partnerAccount(partner, at);
      site = await this.#registry.createSite({ accountId: account.accountId, name, region: this.#region, partner: partner.name, at });
    }
    const keyPair = await generateKeyPairAsync();
    const issued = await this.#issue({
      siteId: site.siteId,
      environment,
      key: { publicKeyPem: keyPair.publicKeyPem, subject: { organization: partner.name, locality: platformEnvironment } },
      origin: 'partner-binding',
      parentSerial: null,
    });
    return { ...issued, privateKeyPem: keyPair.privateKeyPem, partner: partner.name, platformEnvironment, siteName: site.name };
  }

  /**
   * Registration from a partner site: the platform's certificate (already checked by
   * SiteAuthority.identify) is the proof of the site, so only the owner's account is
   * checked — or created — as in the ordinary registration.
   *
   * Not recorded: which account owns the site. Sites belong to the partner's account, and
   * linking the owner's account would need a registry column (a schema change); until then
   * the owner's email lives in the agent's site.json only.
   */
  async register(identity: CertifiedIdentity, input: { email: unknown; password?: unknown }): Promise<PartnerRegistration> {
    const email = checkEmail(input.email);
    const site = await this.#registry.getSite(identity.siteId);
    if (!site?.partner || !isPartnerName(site.partner)) {
      throw new KeybridgeError('invalid-field', "this certificate is not a partner platform's: register with a CSR instead", {
        field: 'partner',
      });
    }
    const account = await this.#guard.attempt(email, () =>
      openOrCreateAccount(this.#registry, this.#guard, {
        email,
        password: optionalPassword(input.password),
        at: this.#now().toISOString(),
      }),
    );
    return { siteId: site.siteId, environment: identity.environment, partner: site.partner, accountEmail: account.email };
  }

  /** The partner's own account, made on first use without a password: no password ever opens it. */
  async #partnerAccount(partner: PartnerProfile, at: string): Promise<AccountRecord> {
    let account = await this.#registry.findAccountByEmail(partner.accountEmail);
    if (!account) {
      try {
        account = await this.#registry.createAccount({ email: partner.accountEmail, passwordHash: NO_PASSWORD, at });
      } catch (error) {
        // Another operator command made it in the meantime.
        if (!(error instanceof KeybridgeError && error.type === 'account-exists')) throw error;
        account = await this.#registry.findAccountByEmail(partner.accountEmail);
        if (!account) throw error;
      }
    }
    // Someone registered this address with a password (registration does not verify email):
    // refuse rather than put the platform's sites under an account a stranger can open.
    if (account.passwordHash !== NO_PASSWORD) {
      throw new KeybridgeError(
        'config-invalid',
        `the account ${partner.accountEmail} has a password: it was not made by keybridge for ${partner.title}`,
        { field: 'partner' },
      );
    }
    return account;
  }
}

function partnerProfile(value: unknown): PartnerProfile {
  if (!isPartnerName(value)) {
    throw new KeybridgeError('invalid-field', `must be a known partner (${Object.keys(PARTNERS).join(', ')})`, { field: 'partner' });
  }
  return PARTNERS[value];
}
