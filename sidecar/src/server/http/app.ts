import type { TLSSocket } from 'node:tls';
import { Hono, type Context } from 'hono';
import { KeybridgeError } from '../../errors.ts';
import { capBody, onlyFields, readJsonObject } from '../../http/json-body.ts';
import { problemResponse } from '../../http/problem.ts';
import { KS_PATHS, type PutSecretRequest, type UsageRecord } from '../../protocol/keyservice.ts';
import type { KeyService } from '../key-service.ts';
import type { CertifiedIdentity, IssuedCertificate, SiteAuthority } from '../site-authority.ts';

/**
 * The key service's HTTP API, served only over TLS that asks every client for a
 * certificate (server/http/listen.ts). The certificate is checked on EVERY request, not
 * only at the handshake, so a revocation takes effect on the next request even on a
 * kept-alive connection. Registration and `info` are the only calls without one.
 *
 * The wire shapes mirror protocol/keyservice.ts; agents call it through
 * agent/keyservice/https-client.ts.
 */
export const KEYSERVICE_MAX_BODY_BYTES = 512 * 1024;

export interface KeyServiceAppOptions {
  service: KeyService;
  authority: SiteAuthority;
  log?: (entry: { method: string; path: string; status: number; ms: number; subject?: string }) => void;
}

type Env = { Bindings: { incoming: { socket: TLSSocket } }; Variables: { identity: CertifiedIdentity } };

export function createKeyServiceApp(options: KeyServiceAppOptions): Hono<Env> {
  const { service, authority } = options;
  const app = new Hono<Env>();

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
    c.set('identity', await authority.identify(peerCertificatePem(c)));
    return next();
  });

  app.get(KS_PATHS.info, async (c) => c.json(await service.info()));

  app.post(KS_PATHS.register, async (c) => {
    const body = await readJsonObject(c);
    onlyFields(body, ['email', 'password', 'site_name', 'csr']);
    const issued = await authority.register({ email: body.email, password: body.password, siteName: body.site_name, csrPem: body.csr });
    return c.json({ ...issuedJson(issued), account_email: issued.accountEmail });
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
    return c.json({ revoked: await authority.revoke(c.get('identity'), body.serial) });
  });
  app.post(KS_PATHS.production, async (c) => {
    const body = await readJsonObject(c);
    onlyFields(body, ['request', 'signature']);
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

/** The client certificate of this request's TLS connection as PEM, or null. */
function peerCertificatePem(c: Context<Env>): string | null {
  const socket = c.env?.incoming?.socket;
  if (!socket || typeof socket.getPeerCertificate !== 'function') return null;
  const peer = socket.getPeerCertificate();
  if (!peer || !peer.raw) return null;
  const base64 = peer.raw.toString('base64').replace(/.{64}/g, '$&\n');
  return `-----BEGIN CERTIFICATE-----\n${base64}\n-----END CERTIFICATE-----\n`;
}
