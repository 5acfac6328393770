import type { Context, MiddlewareHandler } from 'hono';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { bodyLimit } from 'hono/body-limit';
import { KeybridgeError } from '../errors.ts';
import { problemResponse } from './problem.ts';
import { utf8Text } from './utf8-body.ts';

/** Caps request bodies while they stream in, so an oversized body is never buffered whole. */
export function capBody(maxBytes: number): MiddlewareHandler {
  const fallback = bodyLimit({ maxSize: maxBytes, onError: (c) => tooLarge(c, maxBytes) });
  return async (c, next) => {
    const incoming = nodeIncoming(c);
    // Web-standard environments (app.request() in tests): hono's own limiter.
    if (!incoming) return fallback(c, next);
    // On node, never touch c.req.raw: that would build a Web Request and body stream per
    // request. Check the declared length here; readJsonObject enforces the cap on the bytes.
    const declared = incoming.headers['content-length'];
    if (declared !== undefined && Number(declared) > maxBytes) return tooLarge(c, maxBytes);
    c.set(BODY_CAP as never, maxBytes as never);
    return next();
  };
}

const BODY_CAP = 'keybridge.bodyCap';
const DEFAULT_BODY_CAP = 256 * 1024;

function nodeIncoming(c: Context): IncomingMessage | undefined {
  return (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
}

function tooLarge(c: Context, maxBytes: number): Response {
  // The rest of the body is never read, so the connection cannot be reused: say so,
  // or a keep-alive client sends its next request into a socket about to close.
  const outgoing = (c.env as { outgoing?: ServerResponse } | undefined)?.outgoing;
  if (outgoing) outgoing.shouldKeepAlive = false;
  return problemResponse(c, new KeybridgeError('body-too-large', `at most ${maxBytes} bytes`));
}

/**
 * The body of a node request as text, refusing more than `maxBytes` while it streams in
 * (and marking the connection not reusable, since the rest is never read), and refusing
 * bytes that are not UTF-8 (utf8-body.ts).
 */
export function readNodeBody(incoming: IncomingMessage, outgoing: ServerResponse | undefined, maxBytes: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        incoming.off('data', onData);
        if (outgoing) outgoing.shouldKeepAlive = false;
        reject(new KeybridgeError('body-too-large', `at most ${maxBytes} bytes`));
        return;
      }
      chunks.push(chunk);
    };
    incoming.on('data', onData);
    incoming.once('end', () => {
      try {
        resolve(utf8Text(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)));
      } catch (error) {
        reject(error);
      }
    });
    incoming.once('error', reject);
  });
}

const JSON_MEDIA_TYPE = /^application\/(?:[\w.+-]+\+)?json\b/i;

/** Refuses a request whose Content-Type is not JSON. */
export function requireJsonContentType(type: string | undefined): void {
  if (!JSON_MEDIA_TYPE.test(type ?? '')) throw new KeybridgeError('unsupported-media-type', 'send Content-Type: application/json');
}

/** A request body's text as a JSON object, or a `bad-request` problem that says what is wrong. */
export function parseJsonObject(text: string): Record<string, unknown> {
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

/** The request body as a JSON object, or a problem that says what is wrong. */
export async function readJsonObject(c: Context): Promise<Record<string, unknown>> {
  const incoming = nodeIncoming(c);
  requireJsonContentType(incoming ? incoming.headers['content-type'] : c.req.header('content-type'));
  const cap = (c.get(BODY_CAP as never) as number | undefined) ?? DEFAULT_BODY_CAP;
  const outgoing = (c.env as { outgoing?: ServerResponse } | undefined)?.outgoing;
  return parseJsonObject(incoming ? await readNodeBody(incoming, outgoing, cap) : utf8Text(new Uint8Array(await c.req.arrayBuffer())));
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
