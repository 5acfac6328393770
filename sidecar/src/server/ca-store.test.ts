import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createCertificateAuthority } from '../pki/index.ts';
import { FixedRootKeyRing } from '../sealing/root-key-ring.ts';
import { openSoftwareRootKey } from '../sealing/software.ts';
import { loadOrCreateCa, resealCaKey } from './ca-store.ts';
import { filesContaining } from '../../test-helpers/root-rotation/fixture.ts';

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'kb-ca-store-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('the CA key at rest', () => {
  it('is sealed by the root key, never in clear on disk, and a restart loads the same CA', async () => {
    const home = tempDir();
    const rootKey = await openSoftwareRootKey(join(home, 'root.key'));
    const ca = await loadOrCreateCa(home, rootKey);
    expect(ca.keyPem).toContain('PRIVATE KEY');
    expect(filesContaining(home, 'PRIVATE KEY')).toEqual([]);
    expect(existsSync(join(home, 'ca', 'ca.key'))).toBe(false);
    const sealed = JSON.parse(readFileSync(join(home, 'ca', 'ca.key.sealed'), 'utf8'));
    expect(sealed).toMatchObject({ format: 'keybridge-sealed-ca-key-1', rootKeyId: rootKey.keyId });
    // A restart: a new process opens the same key file.
    const again = await loadOrCreateCa(home, await openSoftwareRootKey(join(home, 'root.key')));
    expect(again).toEqual(ca);
  });

  it('seals the clear ca.key of an older keybridge on the next start, then removes it', async () => {
    const home = tempDir();
    const old = createCertificateAuthority({ commonName: 'old CA', validityDays: 30 });
    mkdirSync(join(home, 'ca'), { mode: 0o700 });
    writeFileSync(join(home, 'ca', 'ca.key'), old.keyPem, { mode: 0o600 });
    writeFileSync(join(home, 'ca', 'ca.pem'), old.certPem);
    const ca = await loadOrCreateCa(home, await openSoftwareRootKey(join(home, 'root.key')));
    expect(ca).toEqual({ certPem: old.certPem, keyPem: old.keyPem });
    expect(existsSync(join(home, 'ca', 'ca.key'))).toBe(false);
    expect(filesContaining(home, 'PRIVATE KEY')).toEqual([]);
  });

  it('refuses a clear ca.key open to others, as before', async () => {
    const home = tempDir();
    const old = createCertificateAuthority({ commonName: 'old CA', validityDays: 30 });
    mkdirSync(join(home, 'ca'), { mode: 0o700 });
    writeFileSync(join(home, 'ca', 'ca.key'), old.keyPem);
    chmodSync(join(home, 'ca', 'ca.key'), 0o644);
    writeFileSync(join(home, 'ca', 'ca.pem'), old.certPem);
    await expect(loadOrCreateCa(home, await openSoftwareRootKey(join(home, 'root.key')))).rejects.toMatchObject({
      type: 'config-invalid',
      field: 'home',
    });
  });

  it('does not open under another root key, and reports an altered file', async () => {
    const home = tempDir();
    await loadOrCreateCa(home, await openSoftwareRootKey(join(home, 'root.key')));
    const other = await openSoftwareRootKey(join(home, 'other.key'));
    await expect(loadOrCreateCa(home, other)).rejects.toMatchObject({
      type: 'root-key-unavailable',
      message: expect.stringContaining(other.keyId),
    });
    const file = join(home, 'ca', 'ca.key.sealed');
    const sealed = JSON.parse(readFileSync(file, 'utf8'));
    const bytes = Buffer.from(sealed.ciphertext, 'base64url');
    bytes[20] ^= 1;
    writeFileSync(file, JSON.stringify({ ...sealed, ciphertext: bytes.toString('base64url') }));
    await expect(loadOrCreateCa(home, await openSoftwareRootKey(join(home, 'root.key')))).rejects.toMatchObject({
      type: 'storage-corrupt',
    });
  });

  it('is re-sealed from one root key to another, opening with either during the change', async () => {
    const home = tempDir();
    const from = await openSoftwareRootKey(join(home, 'root.key'));
    const to = await openSoftwareRootKey(join(home, 'next.key'));
    const ca = await loadOrCreateCa(home, from);
    const before = JSON.parse(readFileSync(join(home, 'ca', 'ca.key.sealed'), 'utf8'));
    expect(await resealCaKey(home, from, to)).toBe(true);
    expect(await resealCaKey(home, from, to)).toBe(false);
    const after = JSON.parse(readFileSync(join(home, 'ca', 'ca.key.sealed'), 'utf8'));
    // Only the wrapped data key changes: the PEM's ciphertext stays.
    expect(after).toMatchObject({ rootKeyId: to.keyId, ciphertext: before.ciphertext });
    expect(await loadOrCreateCa(home, to)).toEqual(ca);
    expect(await loadOrCreateCa(home, new FixedRootKeyRing(from, to))).toEqual(ca);
    await expect(loadOrCreateCa(home, from)).rejects.toMatchObject({ type: 'root-key-unavailable' });
  });
});
