import { isUtf8 } from 'node:buffer';
import { KeybridgeError } from '../errors.ts';

/**
 * A request body's bytes as text, strictly: JSON is UTF-8 (RFC 8259), and a body that is not
 * is refused instead of having its bad bytes silently replaced by U+FFFD. That replacement
 * used to turn a `value` sent with invalid UTF-8 into a different secret without a word
 * (issue 13). Every front end that reads a body calls this (http/json-body.ts readNodeBody;
 * the agent's socket fast path hands such a body to node:http, which lands here too).
 */
export function utf8Text(bytes: Uint8Array): string {
  const buffer = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (isUtf8(buffer)) return buffer.toString('utf8');
  throw invalidUtf8(buffer);
}

/** True when the bytes are UTF-8: the fast path's cheap test before it decodes. */
export function isUtf8Body(bytes: Uint8Array): boolean {
  return isUtf8(bytes);
}

/**
 * The problem for a body that is not UTF-8, naming the field whose text holds the bad bytes
 * when the rest parses: `invalid-value` for `value` (send bytes as value_base64), else
 * `bad-request`. The body itself is never quoted.
 */
function invalidUtf8(bytes: Buffer): KeybridgeError {
  const field = fieldWithReplacement(bytes.toString('utf8'));
  if (field === 'value') {
    return new KeybridgeError('invalid-value', 'is not valid UTF-8 text: send bytes as value_base64', { field });
  }
  return new KeybridgeError('bad-request', 'the body is not valid UTF-8', field === undefined ? {} : { field });
}

/** The top-level field whose string holds U+FFFD in the lossy decoding, `value` first. */
function fieldWithReplacement(lossy: string): string | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(lossy);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
  const fields = Object.entries(parsed as Record<string, unknown>).filter(([, value]) => JSON.stringify(value).includes('\ufffd'));
  return (fields.find(([key]) => key === 'value') ?? fields[0])?.[0];
}
