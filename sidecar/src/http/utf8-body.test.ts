import { describe, expect, it } from 'vitest';
import { isUtf8Body, utf8Text } from './utf8-body.ts';

describe('utf8Text', () => {
  it('decodes UTF-8 as it is, U+FFFD sent as such included', () => {
    expect(utf8Text(Buffer.from('{"value":"\ufffd é 🔑"}'))).toBe('{"value":"\ufffd é 🔑"}');
    expect(isUtf8Body(Buffer.from('plain'))).toBe(true);
  });

  it('refuses bad bytes in value with invalid-value, elsewhere with bad-request naming the field, and never quotes the body', () => {
    const bad = (text: string) => Buffer.from(text.replace('#', '\u0000'), 'utf8').map((byte) => (byte === 0 ? 0xff : byte));
    expect(() => utf8Text(bad('{"name":"a","value":"s3cret#"}'))).toThrow(
      expect.objectContaining({ type: 'invalid-value', field: 'value' }),
    );
    expect(() => utf8Text(bad('{"name":"a#","value":"s3cret"}'))).toThrow(expect.objectContaining({ type: 'bad-request', field: 'name' }));
    expect(() => utf8Text(bad('{"name":"a", #'))).toThrow(expect.objectContaining({ type: 'bad-request', field: undefined }));
    try {
      utf8Text(bad('{"value":"s3cret#"}'));
    } catch (error) {
      expect((error as Error).message).not.toContain('s3cret');
    }
  });
});
