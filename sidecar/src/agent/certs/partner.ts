import { readFileSync, statSync } from 'node:fs';
import { KeybridgeError } from '../../errors.ts';
import { PARTNERS, type PartnerBinding } from '../../protocol/partners.ts';

export type { PartnerBinding } from '../../protocol/partners.ts';

// Platforms write keys as PKCS#8 or as the older PKCS#1 / SEC 1 blocks: node:tls takes all three.
const KEY_BLOCK = /-----BEGIN (RSA |EC )?PRIVATE KEY-----[\s\S]+?-----END \1PRIVATE KEY-----/;
const CERTIFICATE_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/;

/**
 * Key and certificate from the platform's file, which holds both (the first certificate is
 * the site's; a chain may follow). Refused when anyone on the host may read it: a copy is
 * the site. Group access is left to the platform, which owns the file and its group.
 */
export function readBinding(file: string): { keyPem: string; certPem: string } {
  let text: string;
  try {
    if ((statSync(file).mode & 0o007) !== 0) {
      throw new KeybridgeError('config-invalid', `${file} must not be readable by others: ask the platform to fix its mode`, {
        field: 'partner.certFile',
      });
    }
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if (error instanceof KeybridgeError) throw error;
    throw new KeybridgeError('config-invalid', `cannot read the platform's certificate ${file}`, { field: 'partner.certFile' });
  }
  const keyPem = KEY_BLOCK.exec(text)?.[0];
  const certPem = CERTIFICATE_BLOCK.exec(text)?.[0];
  if (!keyPem || !certPem) {
    throw new KeybridgeError('config-invalid', `${file} must hold a private key and a certificate`, { field: 'partner.certFile' });
  }
  return { keyPem: `${keyPem}\n`, certPem: `${certPem}\n` };
}

/** What a partner site may not do itself: `what` is "renewal", "the move to production", …. */
export function partnerRefusal(partner: PartnerBinding, what: string): KeybridgeError {
  const title = PARTNERS[partner.name].title;
  return new KeybridgeError(
    'invalid-field',
    `${what} is not available on ${title}: the platform issues this site's certificates (${partner.certFile}); ask ${title} for a new one`,
    { field: 'partner' },
  );
}
