import type { MiddlewareHandler } from 'hono';
import { KeybridgeError } from '../../errors.ts';
import { tokenVerifier } from './token.ts';
import type { IncomingMessage } from 'node:http';

/**
 * Bearer-token check for every route but the public ones. The token is read from the
 * header only: a token in a query string would end up in access logs.
 */
export function requireBearerToken(token: string, publicPaths: ReadonlySet<string>): MiddlewareHandler {
  const matches = tokenVerifier(token);
  return async (c, next) => {
    if (publicPaths.has(c.req.path)) return next();
    // From node's parsed headers when there: c.req.header() builds a Web Headers object.
    const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
    const header = (incoming ? incoming.headers.authorization : c.req.header('authorization')) ?? '';
    const match = /^Bearer ([^\s]+)$/.exec(header);
    if (!match || !matches(match[1])) {
      throw new KeybridgeError('unauthorized', match ? 'the token does not match' : 'missing Authorization: Bearer header');
    }
    return next();
  };
}
