import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KeybridgeError } from '../errors.ts';
import { createPrivateFileExclusive, ensurePrivateDir, isOpenToOthers } from '../files.ts';
import { createCertificateAuthority, matchesPrivateKey, type CertificateAuthority } from '../pki/index.ts';

/**
 * The key service's certificate authority, kept under the server's home:
 *   ca/ca.pem  the CA certificate (agents trust it; publish it to them)
 *   ca/ca.key  its private key, 0600 (to be sealed by the HSM with the PKCS#11 backend)
 * Created on first start, exclusively: two nodes starting at once end up with one CA.
 */
export const CA_VALIDITY_DAYS = 10 * 365;

export async function loadOrCreateCa(home: string, commonName = 'keybridge key service CA'): Promise<CertificateAuthority> {
  const dir = join(home, 'ca');
  ensurePrivateDir(dir);
  const certFile = join(dir, 'ca.pem');
  const keyFile = join(dir, 'ca.key');
  if (!existsSync(keyFile)) {
    const ca = createCertificateAuthority({ commonName, validityDays: CA_VALIDITY_DAYS });
    // Key first: a certificate without its key would be useless, the reverse is recoverable.
    if (await createPrivateFileExclusive(keyFile, Buffer.from(ca.keyPem))) {
      await createPrivateFileExclusive(certFile, Buffer.from(ca.certPem));
    }
  }
  if (isOpenToOthers(keyFile)) {
    throw new KeybridgeError('config-invalid', `${keyFile} must not be readable by group or others (chmod 600)`, { field: 'home' });
  }
  if (!existsSync(certFile)) throw new KeybridgeError('config-invalid', `${certFile} is missing next to ${keyFile}`, { field: 'home' });
  const ca = { certPem: readFileSync(certFile, 'utf8'), keyPem: readFileSync(keyFile, 'utf8') };
  if (!matchesPrivateKey(ca.certPem, ca.keyPem)) {
    throw new KeybridgeError('config-invalid', `${certFile} does not match ${keyFile}`, { field: 'home' });
  }
  return ca;
}
