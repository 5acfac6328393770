import type { MiddlewareHandler } from 'hono';
import { KeybridgeError } from '../../errors.ts';
import { tokenMatches } from '../token.ts';

/**
 * Bearer-token check for every route but the public ones. The token is read from the
 * header only: a token in a query string would end up in access logs.
 */
export function requireBearerToken(token: string, publicPaths: ReadonlySet<string>): MiddlewareHandler {
  return async (c, next) => {
    if (publicPaths.has(c.req.path)) return next();
    const header = c.req.header('authorization') ?? '';
    const match = /^Bearer ([^\s]+)$/.exec(header);
    if (!match || !tokenMatches(token, match[1])) {
      throw new KeybridgeError('unauthorized', match ? 'the token does not match' : 'missing Authorization: Bearer header');
    }
    return next();
  };
}
