import { execFileSync } from 'node:child_process';
import * as nodeCrypto from 'node:crypto';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { KeybridgeError } from '../errors.ts';
import { fromBase64, toBase64, utf8 } from './encoding.ts';
import { createBundle, MIN_BUNDLE_ITERATIONS, openBundle, type BundleInput, type ExportBundle } from './bundle.ts';

// Count PBKDF2 runs (the real function still does the work).
const pbkdf2Calls = vi.hoisted(() => ({ count: 0 }));
vi.mock('node:crypto', async (importOriginal) => {
  const actual = await importOriginal<typeof nodeCrypto>();
  const pbkdf2 = ((...args: Parameters<typeof actual.pbkdf2>) => {
    pbkdf2Calls.count++;
    return actual.pbkdf2(...args);
  }) as typeof actual.pbkdf2;
  return { ...actual, pbkdf2, default: { ...actual, pbkdf2 } };
});

async function rejection(promise: Promise<unknown>): Promise<KeybridgeError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof KeybridgeError) return error;
    throw error;
  }
  throw new Error('expected a KeybridgeError');
}

const passphrase = 'correct horse battery staple ✓';
const items: BundleInput[] = [
  { name: 'smtp_password', label: 'SMTP', environment: 'production', value: utf8('hunter2') },
  { name: 'smtp_password', label: 'SMTP (dev)', environment: 'development', value: utf8('dev-hunter2') },
  { name: 'stripe/ключ', label: '', environment: 'production', value: new Uint8Array(256).map((_, i) => i) },
  { name: 'empty', label: 'nothing', environment: 'production', value: new Uint8Array(0) },
];

let bundle: ExportBundle;
beforeAll(async () => {
  bundle = await createBundle(passphrase, items);
});

describe('export bundle', () => {
  it('has the documented shape', () => {
    expect(Object.keys(bundle)).toEqual(['format', 'kdf', 'items']);
    expect(bundle.format).toBe('keybridge-export-1');
    expect(bundle.kdf).toEqual({ name: 'PBKDF2-HMAC-SHA256', iterations: 600_000, salt: expect.any(String) });
    expect(fromBase64(bundle.kdf.salt).length).toBe(16);
    expect(bundle.items.length).toBe(items.length);
    bundle.items.forEach((item, i) => {
      expect(Object.keys(item)).toEqual(['name', 'label', 'environment', 'nonce', 'ciphertext']);
      expect(fromBase64(item.nonce).length).toBe(12);
      expect(fromBase64(item.ciphertext).length).toBe(items[i].value.length + 16);
    });
    expect(new Set(bundle.items.map((item) => item.nonce)).size).toBe(items.length);
  });

  it('opens (after a JSON round trip) with one key derivation for the whole bundle', async () => {
    const before = pbkdf2Calls.count;
    const opened = await openBundle(passphrase, JSON.parse(JSON.stringify(bundle)));
    expect(pbkdf2Calls.count - before).toBe(1);
    expect(opened).toEqual(items.map((item) => ({ ...item, value: new Uint8Array(item.value) })));
  });

  it('PHP opens a createBundle bundle with its own functions, and TypeScript opens one made by PHP', async () => {
    const php = `
      $in = json_decode(stream_get_contents(STDIN), true);
      $b = $in['bundle'];
      $ikm = hash_pbkdf2('sha256', $in['passphrase'], base64_decode($b['kdf']['salt'], true), $b['kdf']['iterations'], 32, true);
      $key = hash_hkdf('sha256', $ikm, 32, 'keybridge-export-1', '');
      $opened = [];
      foreach ($b['items'] as $item) {
        $sealed = base64_decode($item['ciphertext'], true);
        $value = openssl_decrypt(substr($sealed, 0, -16), 'aes-256-gcm', $key, OPENSSL_RAW_DATA,
          base64_decode($item['nonce'], true), substr($sealed, -16), $item['name']);
        $opened[] = ['name' => $item['name'], 'environment' => $item['environment'],
          'value' => $value === false ? null : base64_encode($value)];
      }
      $salt = random_bytes(16);
      $key2 = hash_hkdf('sha256', hash_pbkdf2('sha256', $in['passphrase'], $salt, 600000, 32, true), 32, 'keybridge-export-1', '');
      $nonce = random_bytes(12); $tag = '';
      $ct = openssl_encrypt('from PHP', 'aes-256-gcm', $key2, OPENSSL_RAW_DATA, $nonce, $tag, 'php/key', 16);
      $made = ['format' => 'keybridge-export-1',
        'kdf' => ['name' => 'PBKDF2-HMAC-SHA256', 'iterations' => 600000, 'salt' => base64_encode($salt)],
        'items' => [['name' => 'php/key', 'label' => 'made by PHP', 'environment' => 'development',
          'nonce' => base64_encode($nonce), 'ciphertext' => base64_encode($ct . $tag)]]];
      echo json_encode(['opened' => $opened, 'made' => $made]);`;
    const out = JSON.parse(execFileSync('php', ['-r', php], { input: JSON.stringify({ passphrase, bundle }) }).toString()) as {
      opened: { name: string; environment: string; value: string | null }[];
      made: unknown;
    };
    expect(out.opened).toEqual(items.map((item) => ({ name: item.name, environment: item.environment, value: toBase64(item.value) })));
    expect(await openBundle(passphrase, out.made)).toEqual([
      { name: 'php/key', label: 'made by PHP', environment: 'development', value: utf8('from PHP') },
    ]);
  });

  it('a wrong passphrase is bundle-decrypt-failed without naming an item', async () => {
    const error = await rejection(openBundle('correct horse battery staple', bundle));
    expect(error.type).toBe('bundle-decrypt-failed');
    expect(error.field).toBeUndefined();
    expect(error.message).not.toContain('correct horse');
  });

  it('a modified later item, or swapped names, is bundle-decrypt-failed naming the item', async () => {
    const tampered = structuredClone(bundle);
    const sealed = fromBase64(tampered.items[2].ciphertext);
    sealed[0] ^= 1;
    tampered.items[2].ciphertext = toBase64(sealed);
    const error = await rejection(openBundle(passphrase, tampered));
    expect(error.type).toBe('bundle-decrypt-failed');
    expect(error.field).toBe('items[2]');

    const renamed = structuredClone(bundle);
    renamed.items[3].name = 'not-empty';
    expect((await rejection(openBundle(passphrase, renamed))).field).toBe('items[3]');
  });

  it('validates the whole shape first, naming the field (no key derivation)', async () => {
    const before = pbkdf2Calls.count;
    const cases: [string, (b: Record<string, any>) => void][] = [
      ['format', (b) => (b.format = 'keybridge-export-2')],
      ['kdf', (b) => (b.kdf = 'pbkdf2')],
      ['kdf.name', (b) => (b.kdf.name = 'scrypt')],
      ['kdf.iterations', (b) => (b.kdf.iterations = 599_999)],
      ['kdf.iterations', (b) => (b.kdf.iterations = 10_000_001)],
      ['kdf.iterations', (b) => (b.kdf.iterations = '600000')],
      ['kdf.iterations', (b) => (b.kdf.iterations = 600_000.5)],
      ['kdf.salt', (b) => (b.kdf.salt = 'c2FsdA')],
      ['kdf.salt', (b) => (b.kdf.salt = toBase64(new Uint8Array(8)))],
      ['items', (b) => (b.items = {})],
      ['items[1]', (b) => (b.items[1] = null)],
      ['items[0].name', (b) => (b.items[0].name = '')],
      ['items[1].label', (b) => delete b.items[1].label],
      ['items[2].environment', (b) => (b.items[2].environment = 'staging')],
      ['items[2].nonce', (b) => (b.items[2].nonce = toBase64(new Uint8Array(16)))],
      ['items[2].nonce', (b) => (b.items[2].nonce = b.items[2].nonce + '\n')],
      ['items[3].ciphertext', (b) => (b.items[3].ciphertext = 'AAAA')],
      ['items[3].ciphertext', (b) => (b.items[3].ciphertext = '-_-_')],
      ['items[3]', (b) => (b.items[3] = { ...b.items[0] })],
    ];
    for (const [field, mutate] of cases) {
      const broken = structuredClone(bundle) as unknown as Record<string, any>;
      mutate(broken);
      const error = await rejection(openBundle(passphrase, broken));
      expect(error.type, field).toBe('bundle-invalid');
      expect(error.field, field).toBe(field);
      expect(error.message).toContain(field);
    }
    for (const notABundle of [null, [], 'bundle', 42]) {
      expect((await rejection(openBundle(passphrase, notABundle))).type).toBe('bundle-invalid');
    }
    expect(pbkdf2Calls.count).toBe(before);
  });

  it('refuses weak or absurd iteration counts and bad items when creating', async () => {
    expect(MIN_BUNDLE_ITERATIONS).toBe(600_000);
    const bad = [
      createBundle(passphrase, items, { iterations: 599_999 }),
      createBundle(passphrase, items, { iterations: 10_000_001 }),
      createBundle('', items),
      createBundle(passphrase, [{ ...items[0], environment: 'staging' }]),
      createBundle(passphrase, [{ ...items[0], name: '' }]),
      createBundle(passphrase, [items[0], { ...items[0] }]),
      createBundle(passphrase, [{ ...items[0], value: 'text' as unknown as Uint8Array }]),
    ];
    for (const promise of bad) expect((await rejection(promise)).type).toBe('invalid-field');
  });

  it('an empty bundle round-trips', async () => {
    const empty = await createBundle(passphrase, []);
    expect(await openBundle(passphrase, empty)).toEqual([]);
  });
});
