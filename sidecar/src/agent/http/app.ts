import { Hono } from 'hono';
import { KeybridgeError } from '../../errors.ts';
import { capBody } from '../../http/json-body.ts';
import { LOCAL_OPERATIONS } from '../../protocol/local-api.ts';
import type { Registrar } from '../certs/registrar.ts';
import type { AgentKeys } from '../keys/keys.ts';
import { computeStatus, type StatusSources } from '../status.ts';
import type { Answer } from './pipeline.ts';
import { certificateRoutes } from './routes/certificates.ts';
import { keyRoutes } from './routes/keys.ts';
import { transferRoutes } from './routes/transfer.ts';
import { usageRoutes } from './routes/usage.ts';
import type { UsageReporter } from '../usage.ts';

export type { AccessLogEntry } from './pipeline.ts';

/**
 * The routes of the local API (the contract is shims/spec.yaml) but the two hot reads,
 * which the pipeline answers itself. This app is served only behind the request pipeline
 * (pipeline.ts, through front-node.ts): the pipeline has checked the Host, the caller's
 * authentication and the declared body size, and set the headers every answer carries,
 * before a request gets here. Bodies are capped again while they stream in (chunked ones
 * declare no length), with each operation's cap from the spec.
 */
export interface AgentAppOptions {
  keys: AgentKeys;
  registrar: Registrar;
  status: StatusSources;
  usage: UsageReporter;
  version: string;
  /** The pipeline's answer to a failure: every problem the agent sends is made there. */
  problem: (error: unknown) => Answer;
}

export function createAgentApp(options: AgentAppOptions): Hono {
  const app = new Hono();
  for (const op of Object.values(LOCAL_OPERATIONS)) {
    if (op.method === 'POST') app.use(op.path, capBody(op.maxBodyBytes));
  }

  app.get('/v1/health', (c) => c.json({ status: 'ok', version: options.version }));
  app.get('/v1/status', async (c) => c.json(await computeStatus(options.status)));
  app.route('/v1/keys', keyRoutes(options.keys));
  app.route('/v1', transferRoutes(options.keys));
  app.route('/v1', certificateRoutes(options.registrar));
  app.route('/v1/usage', usageRoutes(options.usage));

  const problem = (error: unknown) => {
    const answer = options.problem(error);
    return new Response(answer.text, { status: answer.status, headers: { 'Content-Type': answer.contentType } });
  };
  app.notFound((c) => problem(new KeybridgeError('not-found', `${c.req.method} ${c.req.path}`)));
  app.onError((error) => problem(error));
  return app;
}
