import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { randomKey, toBase64Url } from '../crypto/index.ts';
import { openSoftwareRootKey, rootKeyFingerprint, writeSoftwareRootKey } from './software.ts';

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'kb-rootkey-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const keyLine = (key = randomKey(32)): string => `keybridge-root-key-v1:${toBase64Url(key)}\n`;

describe('software root key', () => {
  it('creates a private key file (dir 0700, file 0600) with no temp files left', async () => {
    const dir = join(tempDir(), 'state');
    const file = join(dir, 'root.key');
    const rootKey = await openSoftwareRootKey(file);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8')).toMatch(/^keybridge-root-key-v1:[A-Za-z0-9_-]{43}\n$/);
    expect(readdirSync(dir)).toEqual(['root.key']);
    expect(rootKey.kind).toBe('software');
    expect(rootKey.description).toBe(`software root key file ${file}`);
    expect(rootKey.keyId).toMatch(/^[0-9a-f]{16}$/);
    await rootKey.close();
  });

  it('reuses an existing file: same key id, and data keys wrapped before still unwrap', async () => {
    const file = join(tempDir(), 'root.key');
    const first = await openSoftwareRootKey(file);
    const dataKey = randomKey(32);
    const wrapped = await first.wrapDataKey(dataKey);
    expect(wrapped.length).toBe(40);
    expect(Buffer.from(wrapped).includes(Buffer.from(dataKey))).toBe(false);
    const contents = readFileSync(file, 'utf8');
    const second = await openSoftwareRootKey(file);
    expect(readFileSync(file, 'utf8')).toBe(contents);
    expect(second.keyId).toBe(first.keyId);
    expect(await second.unwrapDataKey(wrapped)).toEqual(dataKey);
  });

  it('derives the key id from the key (HMAC of a constant), not from the path', async () => {
    const key = randomKey(32);
    const a = join(tempDir(), 'a.key');
    const b = join(tempDir(), 'b.key');
    writeFileSync(a, keyLine(key), { mode: 0o600 });
    writeFileSync(b, keyLine(key), { mode: 0o600 });
    expect((await openSoftwareRootKey(a)).keyId).toBe((await openSoftwareRootKey(b)).keyId);
    expect((await openSoftwareRootKey(a)).keyId).toBe(rootKeyFingerprint(key));
    expect(rootKeyFingerprint(randomKey(32))).not.toBe(rootKeyFingerprint(key));
  });

  it('gives concurrent openers of a new file one and the same key', async () => {
    const file = join(tempDir(), 'root.key');
    const keys = await Promise.all(Array.from({ length: 10 }, () => openSoftwareRootKey(file)));
    expect(new Set(keys.map((k) => k.keyId)).size).toBe(1);
  });

  it('refuses a file readable by group or others, naming the path', async () => {
    const file = join(tempDir(), 'root.key');
    writeFileSync(file, keyLine(), { mode: 0o600 });
    for (const mode of [0o640, 0o604, 0o660, 0o644]) {
      chmodSync(file, mode);
      await expect(openSoftwareRootKey(file)).rejects.toMatchObject({
        type: 'config-invalid',
        field: 'rootKey.file',
        message: expect.stringContaining(file),
      });
    }
    chmodSync(file, 0o400);
    await expect(openSoftwareRootKey(file)).resolves.toBeDefined();
  });

  it('refuses files of the wrong size or format, without echoing their content', async () => {
    const dir = tempDir();
    const cases: Record<string, string | Buffer> = {
      raw: randomKey(32) as unknown as Buffer,
      empty: '',
      short: `keybridge-root-key-v1:${toBase64Url(randomKey(16))}\n`,
      long: `keybridge-root-key-v1:${toBase64Url(randomKey(48))}\n`,
      prefix: `keybridge-root-key-v2:${toBase64Url(randomKey(32))}\n`,
      trailing: `${keyLine()}extra\n`,
      huge: 'S3CRET'.repeat(1000),
      noncanonical: `keybridge-root-key-v1:${toBase64Url(randomKey(32)).slice(0, 42)}B\n`,
    };
    for (const [name, content] of Object.entries(cases)) {
      const file = join(dir, `${name}.key`);
      writeFileSync(file, content, { mode: 0o600 });
      const error = await openSoftwareRootKey(file).catch((e: unknown) => e as Error);
      expect(error, name).toMatchObject({ type: 'config-invalid', message: expect.stringContaining(file) });
      expect((error as Error).message).not.toContain('S3CRET');
    }
  });

  it('refuses a directory in place of the file', async () => {
    const file = join(tempDir(), 'root.key');
    mkdirSync(file, { mode: 0o700 });
    await expect(openSoftwareRootKey(file)).rejects.toMatchObject({ type: 'config-invalid' });
  });

  it('reports a data key that does not open as root-key-unavailable', async () => {
    const one = await openSoftwareRootKey(join(tempDir(), 'one.key'));
    const two = await openSoftwareRootKey(join(tempDir(), 'two.key'));
    const wrapped = await one.wrapDataKey(randomKey(32));
    await expect(two.unwrapDataKey(wrapped)).rejects.toMatchObject({ type: 'root-key-unavailable' });
    wrapped[5] ^= 1;
    await expect(one.unwrapDataKey(wrapped)).rejects.toMatchObject({ type: 'root-key-unavailable' });
  });

  it('refuses every call after close', async () => {
    const rootKey = await openSoftwareRootKey(join(tempDir(), 'root.key'));
    const wrapped = await rootKey.wrapDataKey(randomKey(32));
    await rootKey.close();
    await rootKey.close();
    await expect(rootKey.wrapDataKey(randomKey(32))).rejects.toMatchObject({ type: 'root-key-unavailable' });
    await expect(rootKey.unwrapDataKey(wrapped)).rejects.toMatchObject({ type: 'root-key-unavailable' });
  });

  it('opens without creating when told so: a missing file is an error, not a new key', async () => {
    const file = join(tempDir(), 'root-0123456789abcdef.key');
    await expect(openSoftwareRootKey(file, { create: false })).rejects.toMatchObject({ type: 'config-invalid', field: 'rootKey.file' });
    expect(existsSync(file)).toBe(false);
    const key = randomKey(32);
    expect(await writeSoftwareRootKey(file, key)).toBe(true);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(await writeSoftwareRootKey(file, randomKey(32))).toBe(false);
    expect((await openSoftwareRootKey(file, { create: false })).keyId).toBe(rootKeyFingerprint(key));
  });

  it('probes the file: fails while it is gone or holds another key, passes again once it is back', async () => {
    const dir = tempDir();
    const file = join(dir, 'root.key');
    const rootKey = await openSoftwareRootKey(file);
    await rootKey.probe!();
    renameSync(file, join(dir, 'aside'));
    await expect(rootKey.probe!()).rejects.toMatchObject({ type: 'root-key-unavailable', message: expect.stringContaining(file) });
    writeFileSync(file, keyLine(), { mode: 0o600 });
    await expect(rootKey.probe!()).rejects.toMatchObject({ type: 'root-key-unavailable', message: /no longer holds/ });
    renameSync(join(dir, 'aside'), file);
    await rootKey.probe!();
  });

  it('destroys the key: the file is removed, nothing else in the directory', async () => {
    const dir = tempDir();
    const other = await openSoftwareRootKey(join(dir, 'other.key'));
    const rootKey = await openSoftwareRootKey(join(dir, 'root.key'));
    await rootKey.destroy!();
    expect(readdirSync(dir)).toEqual(['other.key']);
    await expect(rootKey.wrapDataKey(randomKey(32))).rejects.toMatchObject({ type: 'root-key-unavailable' });
    await other.probe!();
  });
});
