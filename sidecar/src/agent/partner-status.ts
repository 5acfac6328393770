import { existsSync } from 'node:fs';
import { PARTNERS, partnerEnvironment } from '../protocol/partners.ts';
import type { PartnerBinding } from './certs/partner.ts';
import type { SiteCredentials } from './certs/store.ts';
import type { StatusRow } from './status.ts';

/**
 * The status rows that read differently on a partner platform (DESIGN.md, "Status table":
 * "environment and partner (e.g. Pantheon live)"). Kept beside status.ts so its rows stay
 * one list; the platform's environment name is compared with the certificate's environment,
 * never used as one.
 */

/**
 * The environment row: the certificate's environment, and on a partner the platform's
 * environment next to it — red when they disagree (`live` with a development certificate,
 * or another environment with a production one), since then the platform installed the
 * wrong certificate and this host reads the other environment's vault.
 */
export function environmentRow(credentials: SiteCredentials | null, partner: PartnerBinding | null): StatusRow {
  const title = 'Environment';
  if (!partner) {
    return {
      id: 'environment',
      title,
      severity: credentials ? 'ok' : 'warning',
      value: credentials?.environment ?? 'unknown until registered',
      help: '',
    };
  }
  const platformTitle = PARTNERS[partner.name].title;
  const platform = partner.environment === null ? `${platformTitle}, environment unknown` : `${platformTitle} ${partner.environment}`;
  if (!credentials) return { id: 'environment', title, severity: 'warning', value: `unknown until registered (${platform})`, help: '' };
  const value = `${credentials.environment} (${platform})`;
  if (partner.environment === null) {
    return {
      id: 'environment',
      title,
      severity: 'warning',
      value,
      help: 'Set PANTHEON_ENVIRONMENT (or partner.environment in the agent config) so the certificate can be checked against the platform environment.',
    };
  }
  const expected = partnerEnvironment(partner.name, partner.environment);
  if (expected !== credentials.environment) {
    return {
      id: 'environment',
      title,
      severity: 'error',
      value: `${value}: ${partner.environment} needs a ${expected} certificate`,
      help: `Ask ${platformTitle} for the right certificate: ${partner.environment} must have a ${expected} certificate in ${partner.certFile}. The platform issues it; keybridge cannot replace it here.`,
    };
  }
  return { id: 'environment', title, severity: 'ok', value, help: '' };
}

/** Certificate found, on a partner: the platform's file, which exists before registration too. */
export function partnerCertificateRow(partner: PartnerBinding, credentials: SiteCredentials | null, loadError: string | null): StatusRow {
  const title = 'Client certificate found';
  const platformTitle = PARTNERS[partner.name].title;
  if (loadError)
    return {
      id: 'certificate-found',
      title,
      severity: 'error',
      value: loadError,
      help: `Check ${partner.certFile} (installed by ${platformTitle}) and the certificate directory.`,
    };
  if (credentials || existsSync(partner.certFile)) {
    return { id: 'certificate-found', title, severity: 'ok', value: `${partner.certFile} (${platformTitle} binding)`, help: '' };
  }
  return {
    id: 'certificate-found',
    title,
    severity: 'error',
    value: `none at ${partner.certFile}`,
    help: `${platformTitle} installs this file in every environment: check PANTHEON_BINDING, or set partner.certFile in the agent config.`,
  };
}

/** What to do about certificates on a partner: the platform renews them, not this agent. */
export function partnerRenewalHelp(partner: PartnerBinding): string {
  const platformTitle = PARTNERS[partner.name].title;
  return `${platformTitle} issues and renews this certificate (${partner.certFile}): ask ${platformTitle} for a new one.`;
}
