import type { IncomingMessage, ServerResponse } from 'node:http';
import { KeybridgeError, asKeybridgeError } from '../../errors.ts';
import { parseJsonObject, readNodeBody, requireJsonContentType } from '../../http/json-body.ts';
import type { AccessLogEntry } from './app.ts';
import { MAX_BODY_BYTES } from './app.ts';
import type { ReadOperations } from './routes/keys.ts';
import { FETCH_PATH, GET_PATH } from './strict-request.ts';
import { tokenVerifier } from './token.ts';

/**
 * The two routes every page request may hit — POST /v1/keys/get and /v1/keys/fetch —
 * served without hono. Through hono each costs ~2× the CPU of a bare node server (a Web
 * Request and Response per call, bench/README.md); here the same checks run in the same
 * order (token, body cap, media type, JSON, fields) and the same operations answer
 * (routes/keys.ts readOperations), so responses are byte-for-byte what the hono routes
 * give. The contract test runs against this path.
 *
 * Two adapters share the checks (`readHandler`): `fastReadListener` on node:http's
 * requests, and fast-read-sockets.ts on whole requests read straight off the socket
 * (the common case; node:http's request and response objects cost more than the read).
 *
 * Written for the per-request cost: no closures made per request (under tsx each named
 * one also costs a defineProperty), headers as a flat array (node's fastest form).
 */
const BEARER = 'Bearer ';

export interface ReadAnswer {
  status: number;
  contentType: string;
  text: string;
}

export interface ReadHandler {
  /** Throws `unauthorized` unless the header is exactly "Bearer <the token>". */
  authorise(header: string | undefined): void;
  /** Throws `unsupported-media-type` unless the Content-Type is JSON. */
  requireJson(contentType: string | undefined): void;
  /**
   * The answer to a request whose token and media type were checked: JSON, or a problem.
   * At once when every record it needs is cached and fresh (the common case: no promise,
   * no microtask), else a promise of it. Never throws, never rejects.
   */
  answer(path: string, body: string): ReadAnswer | Promise<ReadAnswer>;
  /** A problem answer for an error thrown by the checks. */
  problem(error: unknown): ReadAnswer;
}

export function readHandler(options: { token: string; reads: ReadOperations }): ReadHandler {
  const matches = tokenVerifier(options.token);
  const { reads } = options;

  function problem(error: unknown): ReadAnswer {
    const body = asKeybridgeError(error).toProblem();
    return { status: body.status, contentType: 'application/problem+json', text: JSON.stringify(body) };
  }

  function answer(path: string, body: string): ReadAnswer | Promise<ReadAnswer> {
    try {
      const request = parseJsonObject(body);
      const now = path === GET_PATH ? reads.getCached(request) : reads.fetchCached(request);
      return now === null ? later(path, request) : { status: 200, contentType: 'application/json', text: JSON.stringify(now) };
    } catch (error) {
      return problem(error);
    }
  }

  /** A read that needs the key service: the same checks again, then the round trip. */
  async function later(path: string, request: Record<string, unknown>): Promise<ReadAnswer> {
    try {
      const text = JSON.stringify(path === GET_PATH ? await reads.get(request) : await reads.fetch(request));
      return { status: 200, contentType: 'application/json', text };
    } catch (error) {
      return problem(error);
    }
  }

  function authorise(header: string | undefined): void {
    // Exactly "Bearer <token>", the token without whitespace: what the hono middleware
    // (http/auth.ts) accepts with /^Bearer ([^\s]+)$/.
    const token = header !== undefined && header.startsWith(BEARER) ? header.slice(BEARER.length) : '';
    if (token === '' || /\s/.test(token)) throw new KeybridgeError('unauthorized', 'missing Authorization: Bearer header');
    if (!matches(token)) throw new KeybridgeError('unauthorized', 'the token does not match');
  }

  return { authorise, requireJson: requireJsonContentType, answer, problem };
}

/** The node:http adapter: returns false for any other request, which then goes to the hono app. */
export function fastReadListener(options: { handler: ReadHandler; log?: (entry: AccessLogEntry) => void }) {
  const { handler, log } = options;

  function send(req: IncomingMessage, res: ServerResponse, started: number, answer: ReadAnswer): void {
    res.writeHead(answer.status, [
      'Content-Type',
      answer.contentType,
      'Cache-Control',
      'no-store',
      'Content-Length',
      String(Buffer.byteLength(answer.text)),
    ]);
    res.end(answer.text);
    log?.({ method: 'POST', path: req.url as string, status: answer.status, ms: performance.now() - started });
  }

  async function respond(req: IncomingMessage, res: ServerResponse, started: number): Promise<void> {
    let body: string;
    try {
      handler.authorise(req.headers.authorization);
      if (Number(req.headers['content-length'] ?? 0) > MAX_BODY_BYTES) {
        res.shouldKeepAlive = false;
        throw new KeybridgeError('body-too-large', `at most ${MAX_BODY_BYTES} bytes`);
      }
      handler.requireJson(req.headers['content-type']);
      body = await readNodeBody(req, res, MAX_BODY_BYTES);
    } catch (error) {
      // A refused body is left unread: drain it so the connection stays usable, unless
      // it was too large (then the connection closes instead).
      if (res.shouldKeepAlive) req.resume();
      send(req, res, started, handler.problem(error));
      return;
    }
    send(req, res, started, await handler.answer(req.url as string, body));
  }

  return (req: IncomingMessage, res: ServerResponse): boolean => {
    const path = req.url;
    if (req.method !== 'POST' || (path !== GET_PATH && path !== FETCH_PATH)) return false;
    void respond(req, res, performance.now());
    return true;
  };
}
