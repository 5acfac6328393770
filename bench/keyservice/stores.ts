import { join } from 'node:path';
import { openPkcs11RootKey } from '../../sidecar/src/sealing/pkcs11/pkcs11.ts';
import type { RootKey } from '../../sidecar/src/sealing/root-key.ts';
import { openPostgresStores } from '../../sidecar/src/storage/postgres/registry.ts';
import { openSqliteStores } from '../../sidecar/src/storage/sqlite/registry.ts';
import type { Registry } from '../../sidecar/src/storage/registry-types.ts';
import type { Storage, VaultKey } from '../../sidecar/src/storage/types.ts';
import type { OpenVault } from './bulk-rows.ts';
import type { Cleanup } from './cleanup.ts';
import type { Backend } from './config.ts';
import type { Fixtures } from './fixtures.ts';

/**
 * A fresh keybridge store on one backend (a new SQLite file in the temp dir, or a new database
 * on the bench's PostgreSQL), opened exactly as `keybridge server` opens it, and the PKCS#11
 * root key on the bench's SoftHSM token. `where` is what a bulk loader needs to reach the
 * same data (the file, or the URL).
 */
export interface BenchStores {
  backend: Backend;
  where: string;
  storage: Storage;
  registry: Registry;
  close(): Promise<void>;
}

export async function openBenchStores(backend: Backend, purpose: string, fixtures: Fixtures, cleanup: Cleanup): Promise<BenchStores> {
  const where = backend === 'sqlite' ? join(fixtures.root, `${purpose}.db`) : await fixtures.newDatabase(purpose);
  const stores = backend === 'sqlite' ? await openSqliteStores(where) : await openPostgresStores(where);
  cleanup.add(`${backend} ${purpose} stores`, () => stores.close());
  return { backend, where, storage: stores.storage, registry: stores.registry, close: () => stores.close() };
}

export const REGION = 'eu';

/** An AES-256 root key generated in the SoftHSM token (found again when the label exists). */
export async function openBenchRootKey(label: string, fixtures: Fixtures, cleanup: Cleanup): Promise<RootKey> {
  const hsm = await fixtures.hsm();
  const rootKey = await openPkcs11RootKey({
    module: hsm.module,
    tokenLabel: hsm.token,
    pinFile: hsm.pinFile,
    keyLabel: label,
    createIfMissing: true,
  });
  cleanup.add(`root key ${label}`, () => rootKey.close());
  return rootKey;
}

/** The vault's data key, unsealed the way the key service's VaultKeyring does it (for bulk sealing). */
export async function openVault(storage: Storage, rootKey: RootKey, key: Omit<VaultKey, 'region'>): Promise<OpenVault> {
  const record = await storage.findVault({ ...key, region: REGION });
  if (!record) throw new Error(`no vault for ${key.siteId}/${key.environment}: store one secret through the key service first`);
  return { vaultId: record.vaultId, dataKey: await rootKey.unwrapDataKey(record.sealedDataKey) };
}
