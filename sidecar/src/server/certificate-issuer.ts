import { KeybridgeError } from '../errors.ts';
import { inspectCertificate, issueCertificate, parseCsr, validateSubject, type CertificateAuthority } from '../pki/index.ts';
import type { SubjectFields } from '../pki/subject.ts';
import type { Environment } from '../protocol/keyservice.ts';
import { PARTNERS } from '../protocol/partners.ts';
import type { CertificateOrigin, Registry } from '../storage/registry-types.ts';

/**
 * The key service's CA at work: every client certificate is issued here and recorded in the
 * registry with its place in the site's lineage (origin, parent) before anyone sees it. The
 * subject's CN (site id) and OU (environment) are the CA's; a CSR contributes its key and the
 * fields its owner may choose (organisation, place).
 */
export interface CertificateLifetimes {
  developmentDays: number;
  productionDays: number;
}

export interface IssuedCertificate {
  siteId: string;
  environment: Environment;
  certificatePem: string;
  caCertificatePem: string;
  serialHex: string;
  notAfter: string;
}

/** A public key and the subject fields beside CN (site id) and OU (environment), which the CA writes. */
export interface OwnedKey {
  publicKeyPem: string;
  subject: Omit<SubjectFields, 'commonName' | 'organizationalUnit'>;
}

export interface IssueRequest {
  siteId: string;
  environment: Environment;
  key: OwnedKey;
  origin: CertificateOrigin;
  /** The certificate that asked for this one; null for a registration or the operator's. */
  parentSerial: string | null;
  /** Renewal: the parent is refused from this time on. */
  supersedeParentAt?: string | null;
  /** False only for a re-issue (the password brings a site back after its certificates were revoked). */
  requireLiveParent?: boolean;
}

export type Issue = (request: IssueRequest) => Promise<IssuedCertificate>;

const DAY_MS = 24 * 60 * 60 * 1000;
/** Certificates start a few minutes in the past so an agent whose clock lags can use them at once. */
const BACKDATE_MS = 5 * 60 * 1000;

export class CertificateIssuer {
  readonly #registry: Registry;
  readonly #ca: CertificateAuthority;
  readonly #lifetimes: CertificateLifetimes;
  readonly #now: () => Date;

  constructor(options: { registry: Registry; ca: CertificateAuthority; lifetimes: CertificateLifetimes; now: () => Date }) {
    this.#registry = options.registry;
    this.#ca = options.ca;
    this.#lifetimes = options.lifetimes;
    this.#now = options.now;
  }

  get caCertificatePem(): string {
    return this.#ca.certPem;
  }

  readonly issue: Issue = async (request) => {
    const now = this.#now();
    const { siteId, environment } = request;
    const days = environment === 'production' ? this.#lifetimes.productionDays : this.#lifetimes.developmentDays;
    const certificatePem = issueCertificate(this.#ca, {
      publicKeyPem: request.key.publicKeyPem,
      subject: { ...request.key.subject, commonName: siteId, organizationalUnit: environment },
      notBefore: new Date(now.getTime() - BACKDATE_MS),
      notAfter: new Date(now.getTime() + days * DAY_MS),
      usage: 'client',
    });
    const info = inspectCertificate(certificatePem);
    await this.#registry.recordCertificate({
      serialHex: info.serialHex,
      siteId,
      environment,
      fingerprintSha256: info.fingerprintSha256,
      notBefore: info.notBefore.toISOString(),
      notAfter: info.notAfter.toISOString(),
      issuedAt: now.toISOString(),
      origin: request.origin,
      parentSerial: request.parentSerial,
      supersedeParentAt: request.supersedeParentAt ?? null,
      requireLiveParent: request.requireLiveParent,
    });
    return {
      siteId,
      environment,
      certificatePem,
      caCertificatePem: this.#ca.certPem,
      serialHex: info.serialHex,
      notAfter: info.notAfter.toISOString(),
    };
  };

  /** The key service's own TLS certificate, for the hosts agents dial. */
  serverCertificate(publicKeyPem: string, hosts: { dnsNames: string[]; ipAddresses: string[] }, days: number): string {
    const now = this.#now();
    return issueCertificate(this.#ca, {
      publicKeyPem,
      subject: { commonName: hosts.dnsNames[0] ?? hosts.ipAddresses[0] ?? 'keybridge-server' },
      notBefore: new Date(now.getTime() - BACKDATE_MS),
      notAfter: new Date(now.getTime() + days * DAY_MS),
      usage: 'server',
      ...hosts,
    });
  }
}

/** The key a CSR (PEM text from a request body) proves possession of, with the subject fields its owner may choose. */
export function keyFromCsr(csrPem: unknown): OwnedKey {
  const csr = parseCsr(typeof csrPem === 'string' ? csrPem : '');
  return { publicKeyPem: csr.publicKeyPem, subject: ownedSubject(csr.subject) };
}

/**
 * The subject fields the owner chose (organisation, place), which the CA keeps; CN and OU are
 * the CA's. parseCsr reads any subject a CSR tool wrote (`O=Example, Inc.` from openssl), so
 * they are checked here as the CA will write them: `csr-invalid` naming the field otherwise.
 */
export function ownedSubject(subject: SubjectFields): OwnedKey['subject'] {
  const { commonName: _ignored, organizationalUnit: _claimed, ...owned } = subject;
  try {
    validateSubject({ ...owned, commonName: 'site' });
  } catch (error) {
    const detail = error instanceof KeybridgeError ? error.detail : undefined;
    throw new KeybridgeError('csr-invalid', `the CSR subject cannot be certified: ${detail ?? 'invalid'}`);
  }
  return owned;
}

/** Whether two certificates' owner-chosen fields differ (a custom certificate rather than a renewal). */
export function ownedFieldsDiffer(a: OwnedKey['subject'], b: OwnedKey['subject']): boolean {
  const fields = ['country', 'state', 'locality', 'organization'] as const;
  return fields.some((field) => (a[field] ?? '') !== (b[field] ?? ''));
}

/** Renewal and the move to production are the platform operator's on a partner (`keybridge server partner issue`). */
export function partnerIssues(partner: string, what: string): KeybridgeError {
  const title = partner in PARTNERS ? PARTNERS[partner as keyof typeof PARTNERS].title : partner;
  return new KeybridgeError(
    'invalid-field',
    `${what} is refused: ${title} issues this site's certificates; ask the platform for a new one`,
    {
      field: 'partner',
    },
  );
}
