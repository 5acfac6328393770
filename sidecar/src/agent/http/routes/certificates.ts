import { Hono } from 'hono';
import { onlyFields, readJsonObject } from '../../../http/json-body.ts';
import type { Registrar } from '../../certs/registrar.ts';
import type { SiteCredentials } from '../../certs/store.ts';

/**
 * Registration and certificates. The agent makes every private key itself; these calls
 * return only public facts about the certificate, never key material.
 */
export function certificateRoutes(registrar: Registrar): Hono {
  const app = new Hono();

  app.post('/register', async (c) => {
    const body = await readJsonObject(c);
    onlyFields(body, ['email', 'password', 'site_name']);
    const credentials = await registrar.register({ email: body.email, password: body.password, siteName: body.site_name });
    return c.json(summary(credentials));
  });

  app.post('/certificates/create', async (c) => {
    const body = await readJsonObject(c);
    onlyFields(body, ['country', 'state', 'locality', 'organization']);
    return c.json(summary(await registrar.createCustomCertificate(body as never)));
  });

  app.post('/certificates/renew', async (c) => {
    onlyFields(await readJsonObject(c), []);
    return c.json(summary(await registrar.renew()));
  });

  app.post('/certificates/revoke', async (c) => {
    onlyFields(await readJsonObject(c), []);
    await registrar.revoke();
    return c.json({ revoked: true });
  });

  app.post('/certificates/reissue', async (c) => {
    const body = await readJsonObject(c);
    onlyFields(body, ['password']);
    return c.json(summary(await registrar.reissue(body.password)));
  });

  app.post('/production', async (c) => {
    const body = await readJsonObject(c);
    onlyFields(body, ['password']);
    const result = await registrar.moveToProduction(body.password);
    if (result.status === 'pending') return c.json({ status: 'pending' }, 202);
    return c.json({ status: 'issued', ...summary(result.credentials) });
  });

  return app;
}

export function summary(credentials: SiteCredentials) {
  const { certificate } = credentials;
  return {
    site_id: credentials.siteId,
    environment: credentials.environment,
    account_email: credentials.accountEmail,
    serial: certificate.serialHex,
    subject: certificate.subject,
    not_after: certificate.notAfter.toISOString(),
    path: credentials.certificatePath,
  };
}
