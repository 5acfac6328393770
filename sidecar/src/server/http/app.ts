import type { TLSSocket } from 'node:tls';
import { Hono, type Context } from 'hono';
import { KeybridgeError } from '../../errors.ts';
import { capBody, onlyFields, readJsonObject } from '../../http/json-body.ts';
import { problemResponse } from '../../http/problem.ts';
import { KS_PATHS, type KeyServiceInfo, type PutSecretRequest, type UsageRecord } from '../../protocol/keyservice.ts';
import type { KeyService } from '../key-service.ts';
import { RateLimiter, type RateLimit } from '../rate-limit.ts';
import type { CertifiedIdentity, IssuedCertificate, SiteAuthority } from '../site-authority.ts';

/**
 * The key service's HTTP API, served only over TLS that asks every client for a
 * certificate (server/http/listen.ts). The certificate is checked on EVERY request, not
 * only at the handshake, so a revocation takes effect on the next request even on a
 * kept-alive connection. The client certificate is taken as the exact DER bytes of the
 * handshake (`getPeerCertificate().raw`), never a PEM rebuilt from them.
 *
 * Calls without a valid client certificate — `info`, `register`, `reissue` (whose certificate
 * may be revoked: the password is its proof) — reveal no file path or internal layout,
 * errors included; `register` and `reissue` are rate-limited per client address (and, where
 * a password is checked, per account: password-guard.ts).
 *
 * The wire shapes mirror protocol/keyservice.ts; agents call it through
 * agent/keyservice/https-client.ts.
 */
export const KEYSERVICE_MAX_BODY_BYTES = 512 * 1024;

export interface KeyServiceAppOptions {
  service: KeyService;
  authority: SiteAuthority;
  /** Registrations and re-issues per client address (default DEFAULT_PER_ADDRESS). */
  perAddress?: RateLimit;
  log?: (entry: { method: string; path: string; status: number; ms: number; subject?: string }) => void;
}

/** Enough for a person or a script setting up a handful of sites at once; a guessing storm is not. */
export const DEFAULT_PER_ADDRESS: RateLimit = { burst: 30, perMinute: 10 };

type Env = { Bindings: { incoming: { socket: TLSSocket } }; Variables: { identity: CertifiedIdentity } };

export function createKeyServiceApp(options: KeyServiceAppOptions): Hono<Env> {
  const { service, authority } = options;
  const app = new Hono<Env>();
  const addresses = new RateLimiter(options.perAddress ?? DEFAULT_PER_ADDRESS);
  // Before the body is read: a refused attempt costs the key service as little as possible.
  const limitAddress = async (c: Context<Env>, next: () => Promise<void>) => {
    addresses.take(clientAddress(c), 'registrations from this address');
    await next();
  };

  app.use('*', async (c, next) => {
    const started = performance.now();
    await next();
    c.header('Cache-Control', 'no-store');
    options.log?.({
      method: c.req.method,
      path: c.req.path,
      status: c.res.status,
      ms: performance.now() - started,
      subject: c.get('identity')?.subject,
    });
  });
  app.use('*', capBody(KEYSERVICE_MAX_BODY_BYTES));
  // Everything under /ks/v1/site needs a valid, unrevoked client certificate of this CA.
  app.use(`${KS_PATHS.site}/*`, async (c, next) => {
    c.set('identity', await authority.identify(peerCertificateDer(c)));
    return next();
  });

  // Anyone who reaches the port sees kind and health only; a site with a valid certificate also the module and token.
  app.get(KS_PATHS.info, async (c) => {
    const info = await service.info();
    const identified = await authority.identify(peerCertificateDer(c)).then(
      () => true,
      () => false,
    );
    return c.json(identified ? siteInfo(info) : publicInfo(info));
  });

  app.post(KS_PATHS.register, limitAddress, async (c) => {
    const body = await readJsonObject(c);
    onlyFields(body, ['email', 'password', 'site_name', 'csr']);
    const issued = await authority.register({ email: body.email, password: body.password, siteName: body.site_name, csrPem: body.csr });
    return c.json({ ...issuedJson(issued), account_email: issued.accountEmail });
  });

  app.post(KS_PATHS.reissue, limitAddress, async (c) => {
    const body = await readJsonObject(c);
    onlyFields(body, ['csr', 'password']);
    return c.json(issuedJson(await authority.reissue(peerCertificateDer(c), { csrPem: body.csr, password: body.password })));
  });

  app.post(KS_PATHS.secretsPut, async (c) => {
    const body = await readJsonObject(c);
    return c.json(await service.put(c.get('identity'), body as unknown as PutSecretRequest));
  });
  app.post(KS_PATHS.secretsGet, async (c) => {
    const body = await readJsonObject(c);
    onlyFields(body, ['keyIds']);
    if (!Array.isArray(body.keyIds)) throw new KeybridgeError('invalid-field', 'must be an array', { field: 'keyIds' });
    return c.json({ secrets: await service.get(c.get('identity'), body.keyIds as string[]) });
  });
  app.post(KS_PATHS.secretsList, async (c) => c.json({ secrets: await service.list(c.get('identity')) }));
  app.post(KS_PATHS.secretsDelete, async (c) => {
    const body = await readJsonObject(c);
    onlyFields(body, ['keyId']);
    return c.json({ deleted: await service.delete(c.get('identity'), body.keyId as string) });
  });

  app.post(KS_PATHS.usage, async (c) => {
    const body = await readJsonObject(c);
    onlyFields(body, ['records']);
    return c.json({ recorded: await service.recordUsage(c.get('identity'), body.records as UsageRecord[]) });
  });

  // A partner site (Pantheon) registers with the platform's certificate: it names only its owner's account.
  app.post(KS_PATHS.partnerRegister, async (c) => {
    const body = await readJsonObject(c);
    onlyFields(body, ['email', 'password']);
    const registered = await authority.registerPartnerSite(c.get('identity'), { email: body.email, password: body.password });
    return c.json({
      site_id: registered.siteId,
      environment: registered.environment,
      partner: registered.partner,
      account_email: registered.accountEmail,
    });
  });

  app.get(KS_PATHS.whoami, (c) => {
    const identity = c.get('identity');
    return c.json({ site_id: identity.siteId, environment: identity.environment, serial: identity.serialHex });
  });
  app.post(KS_PATHS.certificatesRenew, async (c) => {
    const body = await readJsonObject(c);
    onlyFields(body, ['csr']);
    return c.json(issuedJson(await authority.renew(c.get('identity'), body.csr)));
  });
  app.post(KS_PATHS.certificatesRevoke, async (c) => {
    const body = await readJsonObject(c);
    onlyFields(body, ['serial']);
    const serials = await authority.revoke(c.get('identity'), body.serial);
    return c.json({ revoked: serials.length > 0, serials });
  });
  app.post(KS_PATHS.certificatesHost, async (c) => {
    const body = await readJsonObject(c);
    onlyFields(body, ['csr']);
    return c.json(issuedJson(await authority.addProductionHost(c.get('identity'), body.csr)));
  });
  app.post(KS_PATHS.production, async (c) => {
    const body = await readJsonObject(c);
    onlyFields(body, ['request', 'signature', 'password']);
    const result = await authority.moveToProduction(c.get('identity'), body);
    if (result.status === 'pending') return c.json({ status: 'pending' }, 202);
    return c.json({ status: 'issued', ...issuedJson(result.certificate) });
  });

  app.notFound((c) => problemResponse(c, new KeybridgeError('not-found', `${c.req.method} ${c.req.path}`)));
  app.onError((error, c) => problemResponse(c, error));
  return app;
}

function issuedJson(issued: IssuedCertificate) {
  return {
    site_id: issued.siteId,
    environment: issued.environment,
    certificate: issued.certificatePem,
    ca_certificate: issued.caCertificatePem,
    serial: issued.serialHex,
    not_after: issued.notAfter,
  };
}

/** The exact DER bytes of this request's client certificate, or null. */
function peerCertificateDer(c: Context<Env>): Uint8Array | null {
  const socket = c.env?.incoming?.socket;
  if (!socket || typeof socket.getPeerCertificate !== 'function') return null;
  const raw = socket.getPeerCertificate()?.raw;
  return raw && raw.length > 0 ? raw : null;
}

/** The caller's address, one key per IPv4 address whether or not the socket is dual-stack. */
function clientAddress(c: Context<Env>): string {
  const address = c.env?.incoming?.socket?.remoteAddress ?? 'unknown';
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}

const PUBLIC_AT_REST = { software: 'software root key', pkcs11: 'PKCS#11 HSM' } as const;

/**
 * `info` for a registered site: the HSM module's file name and token label (the status row
 * "At-rest protection"), why the root key is unusable if it is; no file path of the key service
 * (a software key's description names its file, so a site sees only that it is a file).
 */
function siteInfo(info: KeyServiceInfo): KeyServiceInfo {
  if (info.atRest.kind === 'pkcs11') return info;
  const { detail: _detail, ...atRest } = info.atRest;
  return { ...info, atRest: { ...atRest, description: 'software root key file (on the key service)' } };
}

/** `info` for a caller without a valid certificate: what protects data at rest and whether it works, no module, token or path. */
function publicInfo(info: KeyServiceInfo): KeyServiceInfo {
  const { kind, healthy } = info.atRest;
  return {
    version: info.version,
    region: info.region,
    atRest: { kind, description: PUBLIC_AT_REST[kind], ...(healthy === undefined ? {} : { healthy }) },
  };
}
