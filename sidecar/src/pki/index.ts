/**
 * keybridge's public-key infrastructure: key pairs, CSRs, the certificate authority, certificate
 * inspection and verification, and the signed move-to-production request. Used by the key
 * service (CA side) and the agent (key pairs, CSRs, production request); imports only
 * errors.ts, node:crypto and node-forge.
 */
export { MAX_SUBJECT_VALUE_LENGTH, validateSubject, validateSubjectInput, type SubjectFields, type SubjectInput } from './subject.ts';
export {
  checkRsaPublicKey,
  generateKeyPair,
  generateKeyPairAsync,
  MAX_RSA_BITS,
  MIN_RSA_BITS,
  publicKeyPemFromPrivate,
  type KeyPair,
} from './keys.ts';
export { createCsr, MAX_CSR_BYTES, parseCsr } from './csr.ts';
export { createCertificateAuthority, issueCertificate, type CertificateAuthority, type IssueOptions } from './ca.ts';
export {
  DEFAULT_CLOCK_SKEW_MS,
  environmentOf,
  inspectCertificate,
  matchesPrivateKey,
  validityProblem,
  verifyCertificate,
  type CertificateInfo,
  type CertificateInput,
  type VerifyFailure,
} from './inspect.ts';
export { normalizeSerialHex, randomSerialHex } from './serial.ts';
export { canonicalJson } from './canonical-json.ts';
export {
  createProductionRequest,
  DEFAULT_MAX_AGE_MS,
  signProductionRequest,
  verifyProductionRequest,
  type ProductionRequest,
  type SignedProductionRequest,
} from './production-request.ts';
