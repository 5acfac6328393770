import { Hono } from 'hono';
import { onlyFields, readJsonObject } from '../../../http/json-body.ts';
import type { UsageReporter } from '../../usage.ts';

/** `POST /v1/usage/report`: the CMS's batch of who read which key (spec.yaml usage.report). */
export function usageRoutes(usage: UsageReporter): Hono {
  const app = new Hono();
  app.post('/report', async (c) => {
    const body = await readJsonObject(c);
    onlyFields(body, ['entries']);
    return c.json({ recorded: await usage.report(body.entries) });
  });
  return app;
}
