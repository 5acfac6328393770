/**
 * RSA key pairs, made by node:crypto (OpenSSL), never by node-forge's JavaScript bignums: key
 * generation needs a good RNG and constant-time arithmetic, which OpenSSL has and forge does not
 * promise. Keys travel as PEM: PKCS#8 for private keys, SPKI for public keys.
 */
import { createPrivateKey, createPublicKey, generateKeyPair as generateKeyPairCb, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { KeybridgeError } from '../errors.ts';

export interface KeyPair {
  privateKeyPem: string;
  publicKeyPem: string;
}

/** The design's floor (DESIGN.md, Certificates): RSA-2048 or better. */
export const MIN_RSA_BITS = 2048;
/** Above this, generation takes seconds to minutes and buys nothing for a client certificate. */
export const MAX_RSA_BITS = 8192;

function checkBits(bits: number): void {
  if (!Number.isSafeInteger(bits) || bits < MIN_RSA_BITS || bits > MAX_RSA_BITS || bits % 8 !== 0) {
    throw new KeybridgeError('invalid-field', `RSA key size must be a multiple of 8 from ${MIN_RSA_BITS} to ${MAX_RSA_BITS} bits`, {
      field: 'bits',
    });
  }
}

/**
 * A new RSA key pair (e = 65537). Synchronous: a 2048-bit key takes tens of milliseconds and
 * blocks the event loop meanwhile; servers answering other requests should prefer
 * `generateKeyPairAsync`.
 */
export function generateKeyPair(bits = MIN_RSA_BITS): KeyPair {
  checkBits(bits);
  const { privateKey, publicKey } = generateKeyPairSync('rsa', {
    modulusLength: bits,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return { privateKeyPem: privateKey, publicKeyPem: publicKey };
}

/** The same as `generateKeyPair`, on the libuv thread pool. */
export function generateKeyPairAsync(bits = MIN_RSA_BITS): Promise<KeyPair> {
  try {
    checkBits(bits);
  } catch (error) {
    return Promise.reject(error);
  }
  return new Promise((resolve, reject) => {
    generateKeyPairCb(
      'rsa',
      {
        modulusLength: bits,
        publicKeyEncoding: { type: 'spki', format: 'pem' },
        privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      },
      (error, publicKey, privateKey) => {
        if (error) reject(new KeybridgeError('internal', undefined, { cause: error }));
        else resolve({ privateKeyPem: privateKey, publicKeyPem: publicKey });
      },
    );
  });
}

/**
 * An RSA public key checked to be usable here: RSA (not RSA-PSS-only, EC or Ed25519, which the
 * forge-made certificates cannot carry), `MIN_RSA_BITS`..`MAX_RSA_BITS`, odd public exponent ≥ 3.
 * Throws a plain Error saying why; callers pick the problem type.
 */
export function checkRsaPublicKey(key: KeyObject): KeyObject {
  if (key.type !== 'public' || key.asymmetricKeyType !== 'rsa') throw new Error('the key is not an RSA public key');
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (bits < MIN_RSA_BITS || bits > MAX_RSA_BITS) {
    throw new Error(`the RSA key has ${bits} bits, not ${MIN_RSA_BITS} to ${MAX_RSA_BITS}`);
  }
  const e = key.asymmetricKeyDetails?.publicExponent ?? 0n;
  if (e < 3n || e % 2n === 0n) throw new Error('the RSA public exponent is not an odd number of at least 3');
  return key;
}

/** SPKI PEM of any public key, in the one form node:crypto writes (LF line ends). */
export function publicKeyPemOf(key: KeyObject): string {
  return key.export({ type: 'spki', format: 'pem' }) as string;
}

/** The SPKI PEM of the public half of a PEM private key (PKCS#8 or PKCS#1). */
export function publicKeyPemFromPrivate(privateKeyPem: string): string {
  return publicKeyPemOf(createPublicKey(createPrivateKey(privateKeyPem)));
}
