import { describe, expect, it } from 'vitest';
import { errorType } from '../../test-helpers/errors.ts';
import { utf8 } from './encoding.ts';
import { aesKwpUnwrap, aesKwpWrap, aesKwUnwrap, aesKwWrap } from './keywrap.ts';
import { randomKey } from './random.ts';

describe('key wrap', () => {
  it('wraps and unwraps with KW and KWP, failing closed under the wrong KEK', () => {
    const kek = randomKey();
    const data = randomKey(32);
    expect(aesKwWrap(kek, data).length).toBe(40);
    expect(aesKwUnwrap(kek, aesKwWrap(kek, data))).toEqual(data);
    expect(aesKwpUnwrap(kek, aesKwpWrap(kek, data))).toEqual(data);
    expect(aesKwpUnwrap(kek, aesKwpWrap(kek, utf8('odd-length')))).toEqual(utf8('odd-length'));
    expect(errorType(() => aesKwUnwrap(randomKey(), aesKwWrap(kek, data)))).toBe('ciphertext-invalid');
    expect(errorType(() => aesKwpUnwrap(randomKey(), aesKwpWrap(kek, data)))).toBe('ciphertext-invalid');
    expect(errorType(() => aesKwWrap(kek, new Uint8Array(8)))).toBe('invalid-field');
    expect(errorType(() => aesKwWrap(kek, new Uint8Array(20)))).toBe('invalid-field');
    expect(errorType(() => aesKwpWrap(kek, new Uint8Array(0)))).toBe('invalid-field');
    expect(errorType(() => aesKwpUnwrap(new Uint8Array(5), new Uint8Array(16)))).toBe('invalid-field');
  });
});
