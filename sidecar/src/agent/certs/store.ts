import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { KeybridgeError } from '../../errors.ts';
import { createPrivateFileExclusive, ensurePrivateDir, isOpenToOthers, writeFileAtomic } from '../../files.ts';
import { environmentOf, inspectCertificate, matchesPrivateKey, type CertificateInfo } from '../../pki/inspect.ts';
import type { Environment } from '../../protocol/keyservice.ts';
import type { ClientTls } from '../keyservice/https-client.ts';
import { partnerRefusal, readBinding, type PartnerBinding } from './partner.ts';

/**
 * The certificate directory: everything that makes this host "the site" to the key
 * service, kept outside the webroot (0700, files 0600):
 *
 *   site.json    site id, site secret (32 random bytes), account email — written once
 *   client.pem   the private key and the client certificate, in ONE file so that a
 *                renewal or the move to production replaces both in one atomic rename
 *   ca.pem       the key service's CA, the only issuer the agent trusts
 *
 * The environment is the certificate's subject OU, never a setting. The CMS database
 * holds only KEKs; this directory holds no KEK.
 *
 * On a partner platform (Pantheon) the platform's file replaces client.pem: key and
 * certificate are read from it and never written, the CA comes from ca.pem or the agent's
 * keyservice.caFile, and the directory holds only site.json.
 */
export interface SiteCredentials {
  siteId: string;
  siteSecret: Uint8Array;
  accountEmail: string;
  environment: Environment;
  tls: ClientTls;
  certificate: CertificateInfo;
  certificatePath: string;
}

export const SITE_FILE = 'site.json';
export const CLIENT_FILE = 'client.pem';
export const CA_FILE = 'ca.pem';

export interface CertificateStoreOptions {
  /** On a partner platform: the platform's certificate file (read only) and environment. */
  partner?: PartnerBinding;
  /** The key service's CA when the directory holds no ca.pem (a partner writes none): keyservice.caFile. */
  caFile?: string;
}

export class CertificateStore {
  #cached: { credentials: SiteCredentials; stamp: string } | null = null;
  #checkedAt = 0;
  readonly partner: PartnerBinding | null;
  readonly #caFile: string | undefined;

  constructor(
    readonly dir: string,
    options: CertificateStoreOptions = {},
  ) {
    this.partner = options.partner ?? null;
    this.#caFile = options.caFile;
  }

  get certificatePath(): string {
    return this.partner?.certFile ?? join(this.dir, CLIENT_FILE);
  }

  isRegistered(): boolean {
    return existsSync(join(this.dir, SITE_FILE)) && existsSync(this.certificatePath);
  }

  /**
   * The site's credentials, re-read (and their permissions re-checked) only when the
   * directory, site.json or client.pem changed on disk; null before registration. A chmod
   * changes only the ctime, a replacement the inode: both count as a change.
   */
  current(): SiteCredentials | null {
    if (!this.isRegistered()) return null;
    const stamp = [this.dir, join(this.dir, SITE_FILE), this.certificatePath]
      .map((file) => {
        const stat = statSync(file);
        return `${stat.ino}:${stat.mtimeMs}:${stat.ctimeMs}`;
      })
      .join('|');
    if (this.#cached && this.#cached.stamp === stamp) return this.#cached.credentials;
    const credentials = this.#load();
    this.#cached = { credentials, stamp };
    return credentials;
  }

  /**
   * current() for the hot read path: the files are re-checked at most every `maxAgeMs`
   * (current() costs five stat calls, a cached read otherwise costs ~40 µs of CPU). A
   * certificate installed through this store takes effect at once; a change made behind
   * its back (a chmod, a copied directory) within `maxAgeMs`.
   */
  recent(maxAgeMs = 1000): SiteCredentials | null {
    const now = Date.now();
    if (this.#cached && now - this.#checkedAt < maxAgeMs) return this.#cached.credentials;
    const credentials = this.current();
    this.#checkedAt = now;
    return credentials;
  }

  /** Like current(), but a clear error when the site is not registered. */
  require(): SiteCredentials {
    const credentials = this.current();
    if (!credentials) throw new KeybridgeError('not-registered');
    return credentials;
  }

  caCertificatePem(): string | null {
    for (const file of [join(this.dir, CA_FILE), this.#caFile]) {
      if (file && existsSync(file)) return readFileSync(file, 'utf8');
    }
    return null;
  }

  /**
   * The identity to present to the key service: the registered site's; on a partner, the
   * platform's certificate even before registration, because partner registration is
   * authenticated by that certificate (there is no CSR to send).
   */
  clientTls(): ClientTls | null {
    const current = this.current();
    if (current || !this.partner || !existsSync(this.partner.certFile)) return current?.tls ?? null;
    const caPem = this.caCertificatePem();
    return caPem ? { ...readBinding(this.partner.certFile), caCertPem: caPem } : null;
  }

  /** Trust anchor for registration, before any certificate exists (the operator's CA file). */
  async trustCa(caPem: string): Promise<void> {
    ensurePrivateDir(this.dir);
    writeFileAtomic(join(this.dir, CA_FILE), caPem, 0o600);
  }

  /**
   * Installs a new registration: a fresh site secret (never sent anywhere) next to the site
   * id the key service assigned. The site file is created exclusively: a registered
   * directory is never silently re-registered.
   */
  async installRegistration(input: {
    siteId: string;
    accountEmail: string;
    keyPem: string;
    certPem: string;
    caPem: string;
  }): Promise<SiteCredentials> {
    ensurePrivateDir(this.dir);
    if (existsSync(join(this.dir, SITE_FILE))) throw new KeybridgeError('already-registered', this.dir);
    writeFileAtomic(join(this.dir, CA_FILE), input.caPem, 0o600);
    this.#writeClient(input.keyPem, input.certPem);
    return this.#createSiteFile(input.siteId, input.accountEmail);
  }

  /** A partner's registration: site.json only, for the site the platform's certificate names. */
  async installPartnerRegistration(input: { siteId: string; accountEmail: string }): Promise<SiteCredentials> {
    if (!this.partner) throw new KeybridgeError('internal', 'not a partner platform');
    const named = inspectCertificate(readBinding(this.partner.certFile).certPem).subject.commonName;
    if (named !== input.siteId)
      throw new KeybridgeError('certificate-invalid', "the key service answered for another site than the platform's certificate");
    ensurePrivateDir(this.dir);
    if (existsSync(join(this.dir, SITE_FILE))) throw new KeybridgeError('already-registered', this.dir);
    return this.#createSiteFile(input.siteId, input.accountEmail);
  }

  /** A fresh site secret (never sent anywhere), created exclusively: never a silent re-registration. */
  async #createSiteFile(siteId: string, accountEmail: string): Promise<SiteCredentials> {
    const site = { site_id: siteId, site_secret: randomBytes(32).toString('base64url'), account_email: accountEmail };
    const created = await createPrivateFileExclusive(join(this.dir, SITE_FILE), Buffer.from(`${JSON.stringify(site, null, 2)}\n`));
    if (!created) throw new KeybridgeError('already-registered', this.dir);
    return this.require();
  }

  /** Replaces key + certificate in one rename (renewal, move to production). */
  installCertificate(keyPem: string, certPem: string): SiteCredentials {
    // The platform's file is the platform's: nothing here ever writes it.
    if (this.partner) throw partnerRefusal(this.partner, 'replacing the certificate');
    const before = this.require();
    const info = inspectCertificate(certPem);
    if (info.subject.commonName !== before.siteId)
      throw new KeybridgeError('certificate-invalid', 'the new certificate is for another site');
    this.#writeClient(keyPem, certPem);
    this.#cached = null;
    return this.require();
  }

  #writeClient(keyPem: string, certPem: string): void {
    if (!matchesPrivateKey(certPem, keyPem))
      throw new KeybridgeError('certificate-invalid', 'the certificate does not match its private key');
    writeFileAtomic(this.certificatePath, `${keyPem.trim()}\n${certPem.trim()}\n`, 0o600);
  }

  #load(): SiteCredentials {
    // The platform's file is checked by readBinding: its mode is the platform's to set.
    const own = [this.dir, join(this.dir, SITE_FILE), ...(this.partner ? [] : [this.certificatePath])];
    for (const file of own) {
      if (isOpenToOthers(file)) {
        throw new KeybridgeError(
          'config-invalid',
          `${file} must not be readable by group or others (chmod 700 the directory, 600 its files)`,
          { field: 'cert_dir' },
        );
      }
    }
    const site = readSiteFile(join(this.dir, SITE_FILE));
    const { keyPem, certPem } = this.partner ? readBinding(this.partner.certFile) : readClientFile(this.certificatePath);
    const caPem = this.caCertificatePem();
    if (!keyPem || !certPem || !caPem) {
      throw new KeybridgeError(
        'config-invalid',
        `${this.certificatePath} must hold a private key and a certificate, and ${CA_FILE} (or keyservice.caFile) the CA`,
        { field: 'cert_dir' },
      );
    }
    const certificate = inspectCertificate(certPem);
    const environment = environmentOf(certificate);
    if (!environment) throw new KeybridgeError('certificate-invalid', 'the certificate names no environment (subject OU)');
    if (certificate.subject.commonName !== site.siteId)
      throw new KeybridgeError('certificate-invalid', 'the certificate is for another site');
    return {
      siteId: site.siteId,
      siteSecret: site.siteSecret,
      accountEmail: site.accountEmail,
      environment,
      tls: { keyPem: `${keyPem.trim()}\n`, certPem: `${certPem.trim()}\n`, caCertPem: caPem },
      certificate,
      certificatePath: this.certificatePath,
    };
  }
}

function readClientFile(file: string): { keyPem?: string; certPem?: string } {
  const pem = readFileSync(file, 'utf8');
  return {
    keyPem: /-----BEGIN PRIVATE KEY-----[\s\S]+?-----END PRIVATE KEY-----/.exec(pem)?.[0],
    certPem: /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(pem)?.[0],
  };
}

function readSiteFile(file: string): { siteId: string; siteSecret: Uint8Array; accountEmail: string } {
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    throw new KeybridgeError('config-invalid', `${file} is not valid JSON`, { field: 'cert_dir' });
  }
  const { site_id: siteId, site_secret: secret, account_email: accountEmail } = parsed;
  if (typeof siteId !== 'string' || !/^[A-Za-z0-9_-]{8,64}$/.test(siteId)) {
    throw new KeybridgeError('config-invalid', `${file}: site_id is missing or malformed`, { field: 'site_id' });
  }
  if (typeof secret !== 'string' || !/^[A-Za-z0-9_-]{43}$/.test(secret)) {
    throw new KeybridgeError('config-invalid', `${file}: site_secret is missing or malformed`, { field: 'site_secret' });
  }
  return {
    siteId,
    siteSecret: new Uint8Array(Buffer.from(secret, 'base64url')),
    accountEmail: typeof accountEmail === 'string' ? accountEmail : '',
  };
}
