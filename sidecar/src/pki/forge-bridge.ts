/**
 * The seam between node-forge (which builds and parses the ASN.1 of CSRs and certificates) and
 * node:crypto (which does every private-key operation).
 *
 * forge's `sign(key, md)` hashes the to-be-signed DER and calls `key.sign(md)`. We hand it a
 * stand-in key whose `sign` re-encodes the same to-be-signed structure and signs it with
 * node:crypto: the private key (above all the CA's) never enters forge's JavaScript bignum code,
 * which is neither constant-time nor as scrutinised as OpenSSL.
 */
import { constants, createPrivateKey, sign as nodeSign, verify as nodeVerify, type KeyObject } from 'node:crypto';
import forge from 'node-forge';

/** RSASSA-PKCS1-v1_5 signature OIDs forge can name, and the node:crypto digest of each. */
const RSA_SIGNATURES: Record<string, string> = {
  '1.2.840.113549.1.1.11': 'sha256',
  '1.2.840.113549.1.1.12': 'sha384',
  '1.2.840.113549.1.1.13': 'sha512',
};

/** The digest name for an accepted signature OID, or null (SHA-1, MD5, PSS… are refused). */
export function digestForSignatureOid(oid: string | null | undefined): string | null {
  return (oid && RSA_SIGNATURES[oid]) || null;
}

type Signable = { tbsCertificate?: forge.asn1.Asn1; certificationRequestInfo?: forge.asn1.Asn1 | null };

/**
 * Signs a forge certificate or CSR with SHA-256 and a node:crypto private key. After this the
 * object's `signature` holds the RSASSA-PKCS1-v1_5 signature over its DER-encoded body.
 */
export function signWithNode(target: forge.pki.Certificate | forge.pki.CertificateSigningRequest, privateKey: KeyObject | string): void {
  const key = typeof privateKey === 'string' ? createPrivateKey(privateKey) : privateKey;
  const signable = target as unknown as Signable;
  const standIn = {
    // forge sets tbsCertificate / certificationRequestInfo just before calling this.
    sign(): string {
      const body = signable.tbsCertificate ?? signable.certificationRequestInfo;
      if (!body) throw new Error('forge did not prepare the structure to sign');
      const der = Buffer.from(forge.asn1.toDer(body).getBytes(), 'binary');
      const signature = nodeSign('sha256', der, { key, padding: constants.RSA_PKCS1_PADDING });
      return signature.toString('binary');
    },
  };
  target.sign(standIn as unknown as forge.pki.rsa.PrivateKey, forge.md.sha256.create());
}

/**
 * Verifies an RSASSA-PKCS1-v1_5 signature (forge byte string) over a forge ASN.1 structure with
 * node:crypto. Re-encoding the parsed structure is what forge itself does; forge parses DER
 * strictly and refuses trailing bytes, so the re-encoding is the bytes that were signed.
 */
export function verifyWithNode(body: forge.asn1.Asn1, signatureOid: string | null, signature: string, publicKey: KeyObject): boolean {
  const digest = digestForSignatureOid(signatureOid);
  if (!digest) return false;
  const der = Buffer.from(forge.asn1.toDer(body).getBytes(), 'binary');
  return nodeVerify(digest, der, { key: publicKey, padding: constants.RSA_PKCS1_PADDING }, Buffer.from(signature, 'binary'));
}

/** forge writes CRLF line ends; files and comparisons here use LF, as node:crypto does. */
export function toLf(pem: string): string {
  return pem.replace(/\r\n/g, '\n');
}

/** The first PEM block of `label` in `text` (other blocks, e.g. a key beside it, are skipped). */
export function firstPemBlock(text: string, label: string): string | null {
  const match = new RegExp(`-----BEGIN ${label}-----\\r?\\n[\\s\\S]*?-----END ${label}-----`).exec(text);
  return match ? match[0] : null;
}
