import { existsSync, readFileSync } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { fromBase64Url, fromUtf8, openBytes, randomKey, sealBytes, toBase64Url, utf8 } from '../crypto/index.ts';
import { KeybridgeError } from '../errors.ts';
import { createPrivateFileExclusive, ensurePrivateDir, fsyncDirectory, isOpenToOthers, writeFileAtomic } from '../files.ts';
import { createCertificateAuthority, matchesPrivateKey, type CertificateAuthority } from '../pki/index.ts';
import type { RootKey } from '../sealing/root-key.ts';
import { asRootKeyRing, type RootKeyRing } from '../sealing/root-key-ring.ts';

/**
 * The key service's certificate authority, kept under the server's home:
 *   ca/ca.pem          the CA certificate (agents trust it; publish it to them)
 *   ca/ca.key.sealed   its private key, sealed by the root key the way a vault's data key is:
 *                      a random 32-byte key wrapped by the root key, and the PEM under it
 *                      (AES-256-GCM), so the files of a home alone never reveal the CA key.
 * Created on first start, exclusively: two nodes starting at once end up with one CA. A clear
 * `ca/ca.key` from an older keybridge is sealed on the next start, then removed. A root key
 * rotation re-seals the file (`resealCaKey`): only the wrapped 32-byte key changes.
 *
 * ca.key.sealed is one line of JSON: {"format": "keybridge-sealed-ca-key-1", "rootKeyId",
 * "sealedDataKey": base64url, "ciphertext": base64url(nonce ‖ ct ‖ tag)}.
 */
export const CA_VALIDITY_DAYS = 10 * 365;
const FORMAT = 'keybridge-sealed-ca-key-1';
const AAD = utf8('keybridge ca key v1');

interface SealedCaKey {
  format: typeof FORMAT;
  rootKeyId: string;
  sealedDataKey: string;
  ciphertext: string;
}

export async function loadOrCreateCa(
  home: string,
  rootKey: RootKey | RootKeyRing,
  commonName = 'keybridge key service CA',
): Promise<CertificateAuthority> {
  const ring = asRootKeyRing(rootKey);
  const dir = join(home, 'ca');
  ensurePrivateDir(dir);
  const certFile = join(dir, 'ca.pem');
  const clearFile = join(dir, 'ca.key');
  const sealedFile = join(dir, 'ca.key.sealed');
  if (!existsSync(sealedFile)) {
    if (existsSync(clearFile)) {
      await createPrivateFileExclusive(sealedFile, await sealCaKey(ring.current, readClearKey(clearFile)));
    } else {
      const ca = createCertificateAuthority({ commonName, validityDays: CA_VALIDITY_DAYS });
      // Key first: a certificate without its key would be useless, the reverse is recoverable.
      if (await createPrivateFileExclusive(sealedFile, await sealCaKey(ring.current, ca.keyPem))) {
        await createPrivateFileExclusive(certFile, Buffer.from(ca.certPem));
      }
    }
  }
  const keyPem = await openCaKey(sealedFile, ring);
  if (existsSync(clearFile)) await removeClearKey(clearFile, sealedFile, keyPem);
  if (!existsSync(certFile)) throw new KeybridgeError('config-invalid', `${certFile} is missing next to ${sealedFile}`, { field: 'home' });
  const ca = { certPem: readFileSync(certFile, 'utf8'), keyPem };
  if (!matchesPrivateKey(ca.certPem, ca.keyPem)) {
    throw new KeybridgeError('config-invalid', `${certFile} does not match the key in ${sealedFile}`, { field: 'home' });
  }
  return ca;
}

/**
 * Re-seals the CA key from `from` to `to` (a root key rotation). Returns false when it is not
 * sealed by `from` (already re-sealed by an earlier, interrupted run, or no CA yet). A clear
 * ca.key left by an older keybridge is sealed by `to` and removed.
 */
export async function resealCaKey(home: string, from: RootKey, to: RootKey): Promise<boolean> {
  const dir = join(home, 'ca');
  const sealedFile = join(dir, 'ca.key.sealed');
  const clearFile = join(dir, 'ca.key');
  if (!existsSync(sealedFile)) {
    if (!existsSync(clearFile)) return false;
    await createPrivateFileExclusive(sealedFile, await sealCaKey(to, readClearKey(clearFile)));
    await removeClearKey(clearFile, sealedFile, await openCaKey(sealedFile, to));
    return true;
  }
  const sealed = readSealed(sealedFile);
  if (sealed.rootKeyId !== from.keyId) return false;
  const dataKey = await from.unwrapDataKey(fromBase64Url(sealed.sealedDataKey));
  try {
    const next: SealedCaKey = { ...sealed, rootKeyId: to.keyId, sealedDataKey: toBase64Url(await to.wrapDataKey(dataKey)) };
    // Atomic replace (temp file, fsync, rename, fsync of the directory): old or new, never half.
    writeFileAtomic(sealedFile, `${JSON.stringify(next)}\n`, 0o600);
  } finally {
    dataKey.fill(0);
  }
  return true;
}

async function sealCaKey(rootKey: RootKey, keyPem: string): Promise<Uint8Array> {
  const dataKey = randomKey(32);
  try {
    const sealed: SealedCaKey = {
      format: FORMAT,
      rootKeyId: rootKey.keyId,
      sealedDataKey: toBase64Url(await rootKey.wrapDataKey(dataKey)),
      ciphertext: toBase64Url(sealBytes(dataKey, utf8(keyPem), AAD)),
    };
    return utf8(`${JSON.stringify(sealed)}\n`);
  } finally {
    dataKey.fill(0);
  }
}

async function openCaKey(file: string, rootKeys: RootKey | RootKeyRing): Promise<string> {
  const ring = asRootKeyRing(rootKeys);
  const sealed = readSealed(file);
  let rootKey = ring.get(sealed.rootKeyId);
  if (!rootKey && (await ring.refresh())) rootKey = ring.get(sealed.rootKeyId);
  if (!rootKey) {
    throw new KeybridgeError(
      'root-key-unavailable',
      `${file} is sealed by root key ${sealed.rootKeyId}, but this key service has root key ${ring.current.keyId}` +
        " (after a rotation on another node, copy that node's ca/ directory here)",
    );
  }
  const dataKey = await rootKey.unwrapDataKey(fromBase64Url(sealed.sealedDataKey));
  try {
    return fromUtf8(openBytes(dataKey, fromBase64Url(sealed.ciphertext), AAD));
  } catch (error) {
    throw new KeybridgeError('storage-corrupt', `${file} does not open: it was altered or damaged`, { cause: error });
  } finally {
    dataKey.fill(0);
  }
}

function readSealed(file: string): SealedCaKey {
  let parsed: Partial<SealedCaKey>;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<SealedCaKey>;
  } catch (error) {
    throw new KeybridgeError('storage-corrupt', `${file} is not a sealed keybridge CA key`, { cause: error });
  }
  const fields = ['rootKeyId', 'sealedDataKey', 'ciphertext'] as const;
  if (parsed?.format !== FORMAT || fields.some((f) => typeof parsed[f] !== 'string')) {
    throw new KeybridgeError('storage-corrupt', `${file} is not a sealed keybridge CA key (${FORMAT})`);
  }
  return parsed as SealedCaKey;
}

function readClearKey(file: string): string {
  if (isOpenToOthers(file)) {
    throw new KeybridgeError('config-invalid', `${file} must not be readable by group or others (chmod 600)`, { field: 'home' });
  }
  return readFileSync(file, 'utf8');
}

/** Removes the clear key once the sealed file (already durable) holds the same key. */
async function removeClearKey(clearFile: string, sealedFile: string, sealedPem: string): Promise<void> {
  if (readFileSync(clearFile, 'utf8') !== sealedPem) {
    throw new KeybridgeError('config-invalid', `${clearFile} and ${sealedFile} hold different keys: remove the one that is wrong`, {
      field: 'home',
    });
  }
  await unlink(clearFile).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'ENOENT') throw error;
  });
  await fsyncDirectory(join(clearFile, '..'));
}
