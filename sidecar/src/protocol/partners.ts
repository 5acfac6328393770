import type { Environment } from './keyservice.ts';

/**
 * Hosting partners whose own certificate is the site's client certificate (DESIGN.md,
 * "Environments, partners, regions"). Shared by the key service (the operator issues the
 * platform's certificates) and the agent (the status row compares them with the platform's
 * environment), which import nothing of each other.
 *
 * The mapping decides only what the operator issues and what the status row expects: the
 * vault a request opens is still the certificate's subject OU, never the platform's
 * environment name.
 */
export type PartnerName = 'pantheon';

export interface PartnerProfile {
  name: PartnerName;
  title: string;
  /** The platform environments whose certificates are production; every other one is development. */
  productionEnvironments: readonly string[];
  /** The account that owns the platform's sites, created without a password on first use. */
  accountEmail: string;
}

export const PARTNERS: Readonly<Record<PartnerName, PartnerProfile>> = {
  pantheon: {
    name: 'pantheon',
    title: 'Pantheon',
    // Pantheon's dev, test and multidev environments hold copies of live: only live is production.
    productionEnvironments: ['live'],
    // `.invalid` (RFC 2606) can never receive mail: nobody can claim this account by email.
    accountEmail: 'pantheon@partners.keybridge.invalid',
  },
};

export function isPartnerName(value: unknown): value is PartnerName {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(PARTNERS, value);
}

/**
 * A platform environment name as it may go into a certificate subject (L=…): Pantheon's
 * `dev`, `test`, `live` and multidev names are lowercase letters, digits and hyphens.
 */
export const PLATFORM_ENVIRONMENT = /^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/;

/** The certificate environment the partner's operator issues for a platform environment. */
export function partnerEnvironment(partner: PartnerName, platformEnvironment: string): Environment {
  return PARTNERS[partner].productionEnvironments.includes(platformEnvironment) ? 'production' : 'development';
}

/**
 * The agent on a partner platform (Pantheon): the platform's certificate file is the
 * client certificate. The agent only reads it — it never writes, renews or replaces it,
 * because the platform installs it and the key service's operator issued it
 * (`keybridge server partner issue`). See config/agent.ts for how a partner is detected.
 */
export interface PartnerBinding {
  name: PartnerName;
  /** The platform's environment name (PANTHEON_ENVIRONMENT), or null when not known. */
  environment: string | null;
  /** The platform's key + certificate file, e.g. /srv/bindings/<binding>/certs/binding.pem. */
  certFile: string;
}
