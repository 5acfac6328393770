/**
 * Recognises, in bytes read from a socket, one whole HTTP/1.1 request for one of the two
 * hot read routes — and nothing else. It is the gate of the socket-level fast path
 * (fast-read-sockets.ts): whatever it does not recognise goes, byte for byte, to node:http,
 * which parses it fully and answers as it always has. So it may refuse far more than HTTP
 * allows, but must never accept a request that node:http would frame differently or refuse.
 *
 * Accepted, and only this:
 *  - the request line exactly `POST /v1/keys/get HTTP/1.1` or `POST /v1/keys/fetch HTTP/1.1`;
 *  - header lines `name: value` ending in CRLF: a token name directly followed by the colon,
 *    a value of visible ASCII with inner spaces or tabs, nothing else (no obs-fold, no bare
 *    CR or LF, no bytes above 0x7E, no empty values);
 *  - exactly one Host and exactly one Content-Length (1 to 7 digits, at most `maxBody`, no tab
 *    after them: node:http refuses one there, tests/fuzz found it);
 *    at most one Authorization and one Content-Type; Connection, if present, `keep-alive`;
 *  - no Transfer-Encoding, Expect or Upgrade (chunked bodies, 100-continue and protocol
 *    switches are node:http's), at most MAX_HEADER_LINES lines and MAX_HEAD_BYTES bytes;
 *  - the whole body already in the buffer, and UTF-8 (node:http's path refuses one that is not).
 * Framing is then by Content-Length alone, exactly as node:http frames such a request, so
 * the two parsers cannot disagree on where the next request starts (no smuggling gap).
 */

import { isUtf8Body } from '../../http/utf8-body.ts';
import { FETCH_PATH, GET_PATH } from './pipeline.ts';

export const MAX_HEAD_BYTES = 8 * 1024;
const MAX_HEADER_LINES = 64;

const GET_LINE = `POST ${GET_PATH} HTTP/1.1`;
const FETCH_LINE = `POST ${FETCH_PATH} HTTP/1.1`;

const HEAD_END = Buffer.from('\r\n\r\n', 'latin1');
/**
 * Every header line at once, each ending in CRLF: a token name, the colon, optional spaces,
 * a value of visible ASCII (inner SP/HTAB allowed). Linear: a value's last visible byte is
 * the only place its optional trailing spaces can start.
 */
const HEADER_LINES = new RegExp(
  `^(?:[!#$%&'*+.^_\`|~0-9A-Za-z-]+:[\\t ]*[\\x21-\\x7e](?:[\\t\\x20-\\x7e]*[\\x21-\\x7e])?[\\t ]*\\r\\n){1,${MAX_HEADER_LINES}}$`,
);
/** The whole value after the colon: node:http's parser allows spaces, not tabs, after the digits. */
const CONTENT_LENGTH = /^[\t ]*[0-9]{1,7} *$/;

/** A whole hot read, with the head fields the request pipeline admits it by (pipeline.ts RequestHead). */
export interface ReadRequest {
  method: 'POST';
  path: typeof GET_PATH | typeof FETCH_PATH;
  host: string;
  authorization: string | undefined;
  contentType: string | undefined;
  contentLength: number;
  /** The body's bytes decoded as UTF-8. */
  body: string;
  /** Offset in the buffer just after this request: where the next one starts. */
  end: number;
}

/**
 * The request that starts at `start` in `buffer`, or null when node:http must take it (and
 * everything after it on this connection): not one of the two routes, anything unusual, or
 * not all of it read yet.
 */
export function parseReadRequest(buffer: Buffer, start: number, maxBody: number): ReadRequest | null {
  const headEnd = buffer.indexOf(HEAD_END, start);
  if (headEnd < 0 || headEnd - start > MAX_HEAD_BYTES) return null;
  // The head and its final CRLF: every header line then ends in CRLF.
  const head = buffer.toString('latin1', start, headEnd + 2);
  const path = head.startsWith(GET_LINE) ? GET_PATH : head.startsWith(FETCH_LINE) ? FETCH_PATH : null;
  if (path === null) return null;
  const firstHeader = (path === GET_PATH ? GET_LINE : FETCH_LINE).length + 2;
  if (head.charCodeAt(firstHeader - 2) !== 13 || head.charCodeAt(firstHeader - 1) !== 10) return null;
  if (!HEADER_LINES.test(head.slice(firstHeader))) return null;

  let hosts = 0;
  let host = '';
  let contentLength = -1;
  let authorization: string | undefined;
  let contentType: string | undefined;
  for (let at = firstHeader; at < head.length;) {
    const colon = head.indexOf(':', at);
    const lineEnd = head.indexOf('\r\n', colon);
    const raw = head.slice(colon + 1, lineEnd);
    // The pattern above allows only spaces and tabs around a value: trim() removes just those.
    const value = raw.trim();
    switch (head.slice(at, colon).toLowerCase()) {
      case 'host':
        hosts++;
        host = value;
        break;
      case 'content-length':
        if (contentLength !== -1 || !CONTENT_LENGTH.test(raw)) return null;
        contentLength = Number(value);
        break;
      case 'authorization':
        if (authorization !== undefined) return null;
        authorization = value;
        break;
      case 'content-type':
        if (contentType !== undefined) return null;
        contentType = value;
        break;
      case 'connection':
        if (value.toLowerCase() !== 'keep-alive') return null;
        break;
      case 'transfer-encoding':
      case 'expect':
      case 'upgrade':
        return null;
    }
    at = lineEnd + 2;
  }
  if (hosts !== 1 || contentLength < 0 || contentLength > maxBody) return null;
  const bodyStart = headEnd + HEAD_END.length;
  const end = bodyStart + contentLength;
  if (buffer.length < end) return null;
  // A body that is not UTF-8 goes to node:http, whose body reader refuses it (http/utf8-body.ts).
  if (!isUtf8Body(buffer.subarray(bodyStart, end))) return null;
  return { method: 'POST', path, host, authorization, contentType, contentLength, body: buffer.toString('utf8', bodyStart, end), end };
}
