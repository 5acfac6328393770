import { Hono } from 'hono';
import { KeybridgeError } from '../../errors.ts';
import { requireBearerToken } from './auth.ts';
import { capBody } from '../../http/json-body.ts';
import { problemResponse } from '../../http/problem.ts';
import type { Registrar } from '../certs/registrar.ts';
import type { AgentKeys } from '../keys/keys.ts';
import { certificateRoutes } from './routes/certificates.ts';
import { keyRoutes } from './routes/keys.ts';
import { transferRoutes } from './routes/transfer.ts';
import { usageRoutes } from './routes/usage.ts';
import type { UsageReporter } from '../usage.ts';
import { computeStatus, type StatusSources } from '../status.ts';

/**
 * The agent's local API (the contract is shims/spec.yaml). Middleware order matters:
 * no-store and logging wrap everything, the token check runs before a body is read, and
 * bodies are capped while they stream in.
 */

export const MAX_BODY_BYTES = 256 * 1024;
export const MAX_TRANSFER_BODY_BYTES = 16 * 1024 * 1024;

export interface AccessLogEntry {
  method: string;
  path: string;
  status: number;
  ms: number;
}

export interface AgentAppOptions {
  token: string;
  keys: AgentKeys;
  registrar: Registrar;
  status: StatusSources;
  usage: UsageReporter;
  version: string;
  /** Called once per request; sees no headers and no bodies, so it cannot log a secret. */
  log?: (entry: AccessLogEntry) => void;
}

export function createAgentApp(options: AgentAppOptions): Hono {
  const app = new Hono();

  app.use('*', async (c, next) => {
    const started = performance.now();
    // Set before the handler builds its response: c.json() then carries it, and
    // @hono/node-server keeps its lightweight-Response fast path. Setting it afterwards
    // makes hono clone the finished Response into a stream-backed one on every request.
    c.header('Cache-Control', 'no-store');
    await next();
    if (c.res.headers.get('cache-control') !== 'no-store') c.header('Cache-Control', 'no-store');
    options.log?.({ method: c.req.method, path: c.req.path, status: c.res.status, ms: performance.now() - started });
  });
  app.use('*', requireBearerToken(options.token, new Set(['/v1/health'])));
  app.use('/v1/import/*', capBody(MAX_TRANSFER_BODY_BYTES));
  app.use('/v1/export', capBody(MAX_TRANSFER_BODY_BYTES));
  app.use('/v1/keys/*', capBody(MAX_BODY_BYTES));
  app.use('/v1/register', capBody(MAX_BODY_BYTES));
  app.use('/v1/certificates/*', capBody(MAX_BODY_BYTES));
  app.use('/v1/production', capBody(MAX_BODY_BYTES));
  app.use('/v1/usage/*', capBody(MAX_BODY_BYTES));

  app.get('/v1/health', (c) => c.json({ status: 'ok', version: options.version }));
  app.get('/v1/status', async (c) => c.json(await computeStatus(options.status)));
  app.route('/v1/keys', keyRoutes(options.keys));
  app.route('/v1', transferRoutes(options.keys));
  app.route('/v1', certificateRoutes(options.registrar));
  app.route('/v1/usage', usageRoutes(options.usage));

  app.notFound((c) => problemResponse(c, new KeybridgeError('not-found', `${c.req.method} ${c.req.path}`)));
  app.onError((error, c) => problemResponse(c, error));
  return app;
}
