import type { Context, MiddlewareHandler } from 'hono';
import type { ServerResponse } from 'node:http';
import { bodyLimit } from 'hono/body-limit';
import { KeybridgeError } from '../errors.ts';
import { problemResponse } from './problem.ts';

/** Caps request bodies while they stream in, so an oversized body is never buffered whole. */
export function capBody(maxBytes: number): MiddlewareHandler {
  return bodyLimit({
    maxSize: maxBytes,
    onError: (c) => {
      // The rest of the body is never read, so the connection cannot be reused: say so,
      // or a keep-alive client sends its next request into a socket about to close.
      const outgoing = (c.env as { outgoing?: ServerResponse } | undefined)?.outgoing;
      if (outgoing) outgoing.shouldKeepAlive = false;
      return problemResponse(c, new KeybridgeError('body-too-large', `at most ${maxBytes} bytes`));
    },
  });
}

/** The request body as a JSON object, or a `bad-request` problem that says what is wrong. */
export async function readJsonObject(c: Context): Promise<Record<string, unknown>> {
  const type = c.req.header('content-type') ?? '';
  if (!/^application\/(?:[\w.+-]+\+)?json\b/i.test(type)) {
    throw new KeybridgeError('unsupported-media-type', 'send Content-Type: application/json');
  }
  const text = await c.req.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // The parser's message can quote the body, which may hold a secret: say only where.
    throw new KeybridgeError('bad-request', `the body is not valid JSON (${text.length} characters received)`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new KeybridgeError('bad-request', 'the body must be a JSON object');
  }
  return parsed as Record<string, unknown>;
}

export function optionalString(body: Record<string, unknown>, field: string): string | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new KeybridgeError('invalid-field', 'must be a string', { field });
  return value;
}

export function requiredString(body: Record<string, unknown>, field: string): string {
  const value = optionalString(body, field);
  if (value === undefined) throw new KeybridgeError('invalid-field', 'is required', { field });
  return value;
}

/** Rejects fields the operation does not know, naming the first one. */
export function onlyFields(body: Record<string, unknown>, allowed: readonly string[]): void {
  for (const key of Object.keys(body)) {
    if (!allowed.includes(key)) throw new KeybridgeError('invalid-field', 'is not a field of this operation', { field: key });
  }
}
