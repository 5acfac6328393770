import type { IncomingMessage, ServerResponse } from 'node:http';
import { KeybridgeError, asKeybridgeError } from '../errors.ts';
import { parseJsonObject, readNodeBody, requireJsonContentType } from '../http/json-body.ts';
import type { AccessLogEntry } from './app.ts';
import { MAX_BODY_BYTES } from './app.ts';
import type { ReadOperations } from './routes/keys.ts';
import { tokenVerifier } from './token.ts';

/**
 * The two routes every page request may hit — POST /v1/keys/get and /v1/keys/fetch —
 * served straight from node:http. Through hono each costs ~2× the CPU of a bare node
 * server (a Web Request and Response per call, bench/README.md); here the same checks
 * run in the same order (token, body cap, media type, JSON, fields) and the same
 * operations answer (routes/keys.ts readOperations), so responses are byte-for-byte
 * what the hono routes give. The contract test runs against this path.
 * Returns false for any other request, which then goes to the hono app.
 *
 * Written for the per-request cost: no closures made per request (under tsx each named
 * one also costs a defineProperty), headers as a flat array (node's fastest form).
 */
const GET = '/v1/keys/get';
const FETCH = '/v1/keys/fetch';
const BEARER = 'Bearer ';

export function fastReadListener(options: { token: string; reads: ReadOperations; log?: (entry: AccessLogEntry) => void }) {
  const matches = tokenVerifier(options.token);
  const { reads, log } = options;

  function send(req: IncomingMessage, res: ServerResponse, started: number, status: number, type: string, text: string): void {
    res.writeHead(status, ['Content-Type', type, 'Cache-Control', 'no-store', 'Content-Length', String(Buffer.byteLength(text))]);
    res.end(text);
    log?.({ method: 'POST', path: req.url as string, status, ms: performance.now() - started });
  }

  function authorise(header: string | undefined): void {
    // Exactly "Bearer <token>", the token without whitespace: what the hono middleware
    // (http/auth.ts) accepts with /^Bearer ([^\s]+)$/.
    const token = header !== undefined && header.startsWith(BEARER) ? header.slice(BEARER.length) : '';
    if (token === '' || /\s/.test(token)) throw new KeybridgeError('unauthorized', 'missing Authorization: Bearer header');
    if (!matches(token)) throw new KeybridgeError('unauthorized', 'the token does not match');
  }

  async function answer(req: IncomingMessage, res: ServerResponse, started: number): Promise<void> {
    let text: string;
    try {
      authorise(req.headers.authorization);
      if (Number(req.headers['content-length'] ?? 0) > MAX_BODY_BYTES) {
        res.shouldKeepAlive = false;
        throw new KeybridgeError('body-too-large', `at most ${MAX_BODY_BYTES} bytes`);
      }
      requireJsonContentType(req.headers['content-type']);
      const body = parseJsonObject(await readNodeBody(req, res, MAX_BODY_BYTES));
      text = JSON.stringify(req.url === GET ? await reads.get(body) : await reads.fetch(body));
    } catch (error) {
      // A refused body is left unread: drain it so the connection stays usable, unless
      // it was too large (then the connection closes instead).
      if (res.shouldKeepAlive) req.resume();
      const problem = asKeybridgeError(error).toProblem();
      send(req, res, started, problem.status, 'application/problem+json', JSON.stringify(problem));
      return;
    }
    send(req, res, started, 200, 'application/json', text);
  }

  return (req: IncomingMessage, res: ServerResponse): boolean => {
    const path = req.url;
    if (req.method !== 'POST' || (path !== GET && path !== FETCH)) return false;
    void answer(req, res, performance.now());
    return true;
  };
}
