import type { Context } from 'hono';
import { asKeybridgeError } from '../errors.ts';

/** Every error leaves the agent and the key service as application/problem+json with a stable `type`. */
export function problemResponse(_c: Context, error: unknown): Response {
  const failure = asKeybridgeError(error);
  const problem = failure.toProblem();
  const headers: Record<string, string> = { 'Content-Type': 'application/problem+json', 'Cache-Control': 'no-store' };
  // A 429 says when to come back (RFC 9110 §10.2.3).
  if (failure.retryAfterSeconds !== undefined) headers['Retry-After'] = String(Math.max(1, Math.ceil(failure.retryAfterSeconds)));
  return new Response(JSON.stringify(problem), { status: problem.status, headers });
}
