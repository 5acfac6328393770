/**
 * Lockr formats, with ciphertexts made by PHP's own openssl_encrypt / hash_hmac in
 * sidecar/test-helpers/lockr/wrap.php (mirrors Lockr's wrappers' encrypt side).
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { KeybridgeError } from '../errors.ts';
import { fromBase64, toBase64, utf8 } from './encoding.ts';
import { lockrFormat, unwrapLockr } from './lockr.ts';

const wrapScript = fileURLToPath(new URL('../../test-helpers/lockr/wrap.php', import.meta.url));

interface Job {
  wrapper: string;
  plaintext: Uint8Array;
  key?: Uint8Array;
  iv?: Uint8Array;
  hmacKey?: Uint8Array;
  keyLen?: number;
}
interface Wrapped {
  wrapping_key: string;
  output: Uint8Array;
  graphql_value: string;
}

function phpWrap(jobs: Job[]): Wrapped[] {
  const input = jobs.map((job) => ({
    wrapper: job.wrapper,
    plaintext_b64: toBase64(job.plaintext),
    ...(job.key ? { key_b64: toBase64(job.key) } : {}),
    ...(job.iv ? { iv_b64: toBase64(job.iv) } : {}),
    ...(job.hmacKey ? { hmac_key_b64: toBase64(job.hmacKey) } : {}),
    ...(job.keyLen ? { key_len: job.keyLen } : {}),
  }));
  const out = JSON.parse(execFileSync('php', [wrapScript], { input: JSON.stringify(input) }).toString()) as {
    wrapping_key: string;
    output_b64: string;
    graphql_value: string;
  }[];
  return out.map((o) => ({ wrapping_key: o.wrapping_key, output: fromBase64(o.output_b64), graphql_value: o.graphql_value }));
}

function errorOf(fn: () => unknown): KeybridgeError {
  try {
    fn();
  } catch (error) {
    if (error instanceof KeybridgeError) return error;
    throw error;
  }
  throw new Error('expected a KeybridgeError');
}

const binary = new Uint8Array(256).map((_, i) => i);
const long = new Uint8Array(100_003).map((_, i) => (i * 131 + 7) & 0xff);
const plaintexts: [string, Uint8Array][] = [
  ['empty', new Uint8Array(0)],
  ['text', utf8('sk_live_51H… ünïcode API token')],
  ['one block', utf8('0123456789abcdef')],
  ['binary', binary],
  ['long', long],
];

/** How each format reaches us: REST gave the wrapper output as is, GraphQL base64 of it. */
function deliveries(wrapped: Wrapped, outputIsText: boolean): [string, string | Uint8Array][] {
  const rest: [string, string | Uint8Array][] = [['REST bytes', wrapped.output]];
  if (outputIsText) rest.push(['REST text', Buffer.from(wrapped.output).toString('latin1')]);
  return [...rest, ['GraphQL base64', wrapped.graphql_value], ['GraphQL bytes', utf8(wrapped.graphql_value)]];
}

describe('Lockr formats made by PHP', () => {
  const cases: { name: string; wrapper: string; format: string; text: boolean; keyLen?: number }[] = [
    { name: '$2$ (LockrAes256CbcSha256RawKeyWrapper)', wrapper: 'v2', format: 'lockr-v2', text: false },
    { name: '$1$ base64 output', wrapper: 'v1', format: 'lockr-v1', text: true },
    { name: '$1$ raw output (lockr/lockr 1.0.0–1.0.5)', wrapper: 'v1-raw', format: 'lockr-v1', text: false },
    { name: '$1$ key with a $2$ MAC (Lockr fallback)', wrapper: 'v1-key-v2-mac', format: 'lockr-v1', text: false },
    { name: 'aes-128-ctr-sha256, 16-byte key', wrapper: 'ctr', format: 'lockr-aes-128-ctr-sha256', text: true, keyLen: 16 },
    { name: 'aes-128-ctr-sha256, 32-byte key', wrapper: 'ctr', format: 'lockr-aes-128-ctr-sha256', text: true, keyLen: 32 },
  ];

  for (const c of cases) {
    it(`${c.name}: every plaintext, every delivery`, () => {
      const wrapped = phpWrap(plaintexts.map(([, plaintext]) => ({ wrapper: c.wrapper, plaintext, keyLen: c.keyLen })));
      let checked = 0;
      wrapped.forEach((w, i) => {
        expect(lockrFormat(w.wrapping_key)).toBe(c.format);
        for (const [how, ciphertext] of deliveries(w, c.text)) {
          const opened = unwrapLockr(w.wrapping_key, ciphertext);
          expect(Buffer.from(opened).equals(Buffer.from(plaintexts[i][1])), `${plaintexts[i][0]} via ${how}`).toBe(true);
          checked++;
        }
      });
      expect(checked).toBe(plaintexts.length * (c.text ? 4 : 3));
    });
  }

  it('aes-128-ctr: the full 128-bit counter carries like OpenSSL', () => {
    const ivs = ['0000000000000000ffffffffffffffff', 'fffffffffffffffffffffffffffffffe', '000000000000000000000000fffffffe'];
    const plaintext = new Uint8Array(100).fill(0x41);
    const wrapped = phpWrap(ivs.map((iv) => ({ wrapper: 'ctr', plaintext, iv: new Uint8Array(Buffer.from(iv, 'hex')) })));
    for (const w of wrapped) expect(unwrapLockr(w.wrapping_key, w.graphql_value)).toEqual(plaintext);
  });

  it('tampering: MAC, ciphertext, IV and wrong key give lockr-mac-mismatch; truncation never opens', () => {
    const [v2, v1, ctr] = phpWrap([
      { wrapper: 'v2', plaintext: utf8('tamper me please') },
      { wrapper: 'v1', plaintext: utf8('tamper me please') },
      { wrapper: 'ctr', plaintext: utf8('tamper me please') },
    ]);
    for (const w of [v2, v1, ctr]) {
      const bytes = fromBase64(w.graphql_value);
      for (const index of [0, 17, bytes.length - 1]) {
        const tampered = Buffer.from(bytes);
        tampered[index] ^= 0x01;
        const type = errorOf(() => unwrapLockr(w.wrapping_key, tampered.toString('base64'))).type;
        expect(['lockr-mac-mismatch', 'ciphertext-invalid'], `byte ${index}`).toContain(type);
      }
      for (let n = 0; n < w.graphql_value.length; n++) {
        const type = errorOf(() => unwrapLockr(w.wrapping_key, w.graphql_value.slice(0, n))).type;
        expect(['lockr-mac-mismatch', 'ciphertext-invalid'], `length ${n}`).toContain(type);
      }
    }
    // A flipped byte inside the $2$ MAC and inside the ciphertext: always a MAC mismatch.
    const raw = Buffer.from(v2.output);
    raw[raw.length - 1] ^= 0x80;
    expect(errorOf(() => unwrapLockr(v2.wrapping_key, raw)).type).toBe('lockr-mac-mismatch');
    const ctFlip = Buffer.from(v2.output);
    ctFlip[20] ^= 0x01;
    expect(errorOf(() => unwrapLockr(v2.wrapping_key, ctFlip)).type).toBe('lockr-mac-mismatch');
    // The other key of the same format.
    const [other] = phpWrap([{ wrapper: 'v2', plaintext: utf8('x') }]);
    expect(errorOf(() => unwrapLockr(other.wrapping_key, v2.graphql_value)).type).toBe('lockr-mac-mismatch');
    // A $2$ key does not accept a $1$ MAC (only the $1$ wrapper falls back).
    const [v1raw] = phpWrap([{ wrapper: 'v1-raw', plaintext: utf8('x') }]);
    const asV2 = '$2$' + v1raw.wrapping_key.slice(3);
    expect(errorOf(() => unwrapLockr(asV2, v1raw.output)).type).toBe('lockr-mac-mismatch');
    // Empty and short inputs are malformed, not MAC failures.
    expect(errorOf(() => unwrapLockr(v2.wrapping_key, '')).type).toBe('ciphertext-invalid');
    expect(errorOf(() => unwrapLockr(v2.wrapping_key, v2.output.subarray(0, 47))).type).toBe('ciphertext-invalid');
    expect(errorOf(() => unwrapLockr(ctr.wrapping_key, 'short')).type).toBe('ciphertext-invalid');
  });

  it('other Lockr wrappers and the mcrypt format are "unsupported legacy format"', () => {
    const wrapped = phpWrap([
      { wrapper: 'raw-ctr', plaintext: utf8('x') },
      { wrapper: 'v1-ctr-early', plaintext: utf8('x') },
      { wrapper: 'v1-split-key', plaintext: utf8('x') },
    ]);
    const mcrypt = `rijndael-256$cbc$${toBase64(new Uint8Array(32).fill(1))}$${toBase64(new Uint8Array(32).fill(2))}`;
    const keys = [...wrapped.map((w) => w.wrapping_key), mcrypt, 'aes-256-gcm$abc', '', '$3$' + toBase64(new Uint8Array(32))];
    for (const key of keys) {
      const error = errorOf(() => unwrapLockr(key, wrapped[0].graphql_value));
      expect(error.type, key.slice(0, 24)).toBe('unsupported-legacy-format');
      expect(error.message).toBe('unsupported legacy format');
    }
    expect(errorOf(() => lockrFormat(mcrypt)).type).toBe('unsupported-legacy-format');
    expect(errorOf(() => lockrFormat('raw-aes-128-ctr-sha256AAAA')).type).toBe('unsupported-legacy-format');
    expect(errorOf(() => lockrFormat(undefined as unknown as string)).type).toBe('unsupported-legacy-format');
  });

  it('a malformed key string is refused without echoing it', () => {
    const secret = '$2$' + 'Zm9vYmFy!!secret-material';
    const error = errorOf(() => unwrapLockr(secret, 'AAAA'));
    expect(error.type).toBe('invalid-field');
    expect(error.message).not.toContain('secret-material');
    const ctrKey = `aes-128-ctr-sha256$${toBase64(new Uint8Array(16))}$${toBase64(new Uint8Array(12))}$${toBase64(new Uint8Array(32))}`;
    expect(errorOf(() => unwrapLockr(ctrKey, 'AAAA')).type).toBe('unsupported-legacy-format');
  });

  it('errors never contain the plaintext or key material', () => {
    const plaintext = utf8('PLAINTEXT-MARKER-0123456789');
    const [w] = phpWrap([{ wrapper: 'v1', plaintext }]);
    const bytes = fromBase64(w.graphql_value);
    bytes[bytes.length - 2] ^= 1;
    const error = errorOf(() => unwrapLockr(w.wrapping_key, toBase64(bytes)));
    const text = `${error.message} ${JSON.stringify(error.toProblem())}`;
    expect(text).not.toContain('PLAINTEXT-MARKER');
    expect(text).not.toContain(w.wrapping_key.slice(3, 20));
  });
});
