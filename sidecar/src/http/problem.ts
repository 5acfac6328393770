import type { Context } from 'hono';
import { asKeybridgeError } from '../errors.ts';

/** Every error leaves the agent and the key service as application/problem+json with a stable `type`. */
export function problemResponse(_c: Context, error: unknown): Response {
  const problem = asKeybridgeError(error).toProblem();
  return new Response(JSON.stringify(problem), {
    status: problem.status,
    headers: { 'Content-Type': 'application/problem+json', 'Cache-Control': 'no-store' },
  });
}
