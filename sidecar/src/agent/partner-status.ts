import { existsSync } from 'node:fs';
import { PARTNERS, partnerEnvironment } from '../protocol/partners.ts';
import type { PartnerBinding } from './certs/partner.ts';
import type { SiteCredentials } from './certs/store.ts';
import { row, type StatusRow } from './status-row.ts';

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
    return row('environment', title, credentials ? 'ok' : 'warning', credentials?.environment ?? 'unknown until registered', '');
  }
  const platformTitle = PARTNERS[partner.name].title;
  const platform = partner.environment === null ? `${platformTitle}, environment unknown` : `${platformTitle} ${partner.environment}`;
  if (!credentials) return row('environment', title, 'warning', `unknown until registered (${platform})`, '');
  const value = `${credentials.environment} (${platform})`;
  if (partner.environment === null) {
    return row(
      'environment',
      title,
      'warning',
      value,
      'Set PANTHEON_ENVIRONMENT (or partner.environment in the agent config) so the certificate can be checked against the platform environment.',
    );
  }
  const expected = partnerEnvironment(partner.name, partner.environment);
  if (expected !== credentials.environment) {
    return row(
      'environment',
      title,
      'error',
      `${value}: ${partner.environment} needs a ${expected} certificate`,
      `Ask ${platformTitle} for the right certificate: ${partner.environment} must have a ${expected} certificate in ${partner.certFile}. The platform issues it; keybridge cannot replace it here.`,
    );
  }
  return row('environment', title, 'ok', value, '');
}

/** Certificate found, on a partner: the platform's file, which exists before registration too. */
export function partnerCertificateRow(partner: PartnerBinding, credentials: SiteCredentials | null, loadError: string | null): StatusRow {
  const title = 'Client certificate found';
  const platformTitle = PARTNERS[partner.name].title;
  if (loadError)
    return row(
      'certificate-found',
      title,
      'error',
      loadError,
      `Check ${partner.certFile} (installed by ${platformTitle}) and the certificate directory.`,
    );
  if (credentials || existsSync(partner.certFile)) {
    return row('certificate-found', title, 'ok', `${partner.certFile} (${platformTitle} binding)`, '');
  }
  return row(
    'certificate-found',
    title,
    'error',
    `none at ${partner.certFile}`,
    `${platformTitle} installs this file in every environment: check PANTHEON_BINDING, or set partner.certFile in the agent config.`,
  );
}

/** What to do about certificates on a partner: the platform renews them, not this agent. */
export function partnerRenewalHelp(partner: PartnerBinding): string {
  const platformTitle = PARTNERS[partner.name].title;
  return `${platformTitle} issues and renews this certificate (${partner.certFile}): ask ${platformTitle} for a new one.`;
}
