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
 */
const JSON_HEADERS = { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' };
const PROBLEM_HEADERS = { 'Content-Type': 'application/problem+json', 'Cache-Control': 'no-store' };

export function fastReadListener(options: { token: string; reads: ReadOperations; log?: (entry: AccessLogEntry) => void }) {
  const matches = tokenVerifier(options.token);
  const { reads, log } = options;

  return (req: IncomingMessage, res: ServerResponse): boolean => {
    const path = req.url;
    if (req.method !== 'POST' || (path !== '/v1/keys/get' && path !== '/v1/keys/fetch')) return false;
    const started = performance.now();
    const send = (status: number, headers: Record<string, string>, text: string) => {
      res.writeHead(status, { ...headers, 'Content-Length': String(Buffer.byteLength(text)) });
      res.end(text);
      log?.({ method: 'POST', path, status, ms: performance.now() - started });
    };
    const fail = (error: unknown) => {
      const problem = asKeybridgeError(error).toProblem();
      send(problem.status, PROBLEM_HEADERS, JSON.stringify(problem));
    };
    const answer = async () => {
      const match = /^Bearer ([^\s]+)$/.exec(req.headers.authorization ?? '');
      if (!match || !matches(match[1])) {
        throw new KeybridgeError('unauthorized', match ? 'the token does not match' : 'missing Authorization: Bearer header');
      }
      if (Number(req.headers['content-length'] ?? 0) > MAX_BODY_BYTES) {
        res.shouldKeepAlive = false;
        throw new KeybridgeError('body-too-large', `at most ${MAX_BODY_BYTES} bytes`);
      }
      requireJsonContentType(req.headers['content-type']);
      const body = parseJsonObject(await readNodeBody(req, res, MAX_BODY_BYTES));
      return JSON.stringify(path === '/v1/keys/get' ? await reads.get(body) : await reads.fetch(body));
    };
    answer().then(
      (text) => send(200, JSON_HEADERS, text),
      (error) => {
        // A refused body is left unread: drain it so the connection stays usable, unless
        // it was too large (then the connection closes instead).
        if (res.shouldKeepAlive) req.resume();
        fail(error);
      },
    );
    return true;
  };
}
