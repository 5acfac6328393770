import { createCipheriv, createHash, createHmac, randomBytes } from 'node:crypto';

/**
 * A Lockr item as a site migrating from Lockr would hand it over: `$2$` (Lockr's current
 * default wrapper) ciphertext with the extra base64 layer of Lockr's GraphQL API, and the
 * wrapping key string the site kept. Built with node:crypto for speed in end-to-end tests;
 * the crypto tests check the same format against PHP's own openssl functions.
 */
export function lockrItem(name: string, value: string): { name: string; ciphertext: string; encoded: string } {
  const key = randomBytes(32);
  const digest = createHash('sha512').update(key).digest();
  const iv = randomBytes(16);
  const cipher = createCipheriv('aes-256-cbc', digest.subarray(0, 32), iv);
  const ct = Buffer.concat([cipher.update(value, 'utf8'), cipher.final()]);
  const mac = createHmac('sha256', digest.subarray(32))
    .update(Buffer.concat([Buffer.from('$2$aes-256-cbc'), iv, ct]))
    .digest();
  return {
    name,
    ciphertext: Buffer.concat([iv, ct, mac]).toString('base64'),
    encoded: `$2$${key.toString('base64')}`,
  };
}
