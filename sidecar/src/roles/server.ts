import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ServerConfig } from '../config/server.ts';
import { KeybridgeError } from '../errors.ts';
import { ensurePrivateDir, isOpenToOthers } from '../files.ts';
import { openPkcs11RootKey } from '../sealing/pkcs11.ts';
import type { RootKey } from '../sealing/root-key.ts';
import { openSoftwareRootKey } from '../sealing/software.ts';
import { loadOrCreateCa } from '../server/ca-store.ts';
import type { KeyServiceAppOptions } from '../server/http/app.ts';
import { SiteAuthority } from '../server/site-authority.ts';
import { startKeyServer, type KeyServer } from '../server/start.ts';
import { openSqliteStores } from '../storage/registry-sqlite.ts';
import type { Registry } from '../storage/registry-types.ts';
import type { Storage } from '../storage/types.ts';

/**
 * `keybridge server --config FILE`: one key-service node from its validated config, and
 * the stores the operator commands (`keybridge server sites approve`, `… cert revoke`)
 * open directly. Like up.ts, this is composition only: the parts live in server/,
 * storage/ and sealing/.
 */
export interface Stores {
  storage: Storage;
  registry: Registry;
  close(): Promise<void>;
}

export async function openStores(config: ServerConfig): Promise<Stores> {
  ensurePrivateDir(config.home);
  if (config.storage.kind === 'sqlite') return openSqliteStores(config.storage.path);
  const { openPostgresStores } = await import('../storage/registry-postgres.ts');
  return openPostgresStores(readSecretFile(config.storage.urlFile, 'storage.urlFile'));
}

export async function openRootKey(config: ServerConfig): Promise<RootKey> {
  const rootKey = config.rootKey;
  if (rootKey.kind === 'software') return openSoftwareRootKey(rootKey.file);
  return openPkcs11RootKey({ module: rootKey.module, tokenLabel: rootKey.tokenLabel, pinFile: rootKey.pinFile, keyLabel: rootKey.keyLabel, createIfMissing: true });
}

export async function runServer(config: ServerConfig, log?: KeyServiceAppOptions['log']): Promise<KeyServer & { caFile: string }> {
  const stores = await openStores(config);
  try {
    const server = await startKeyServer({
      storage: stores.storage,
      registry: stores.registry,
      rootKey: await openRootKey(config),
      ca: await loadOrCreateCa(config.home),
      region: config.region,
      listen: config.listen,
      tlsHosts: config.tls,
      lifetimes: config.certificates,
      productionPolicy: config.production.policy,
      closeStores: stores.close,
      log,
    });
    return { ...server, caFile: join(config.home, 'ca', 'ca.pem') };
  } catch (error) {
    await stores.close();
    throw error;
  }
}

/** The operator's view: approve production, revoke certificates, list sites. No listener. */
export async function withAuthority<T>(config: ServerConfig, run: (authority: SiteAuthority, registry: Registry) => Promise<T>): Promise<T> {
  const stores = await openStores(config);
  try {
    const authority = new SiteAuthority({
      registry: stores.registry,
      ca: await loadOrCreateCa(config.home),
      region: config.region,
      lifetimes: config.certificates,
      productionPolicy: config.production.policy,
    });
    return await run(authority, stores.registry);
  } finally {
    await stores.close();
  }
}

function readSecretFile(file: string, field: string): string {
  let text: string;
  try {
    if (isOpenToOthers(file)) throw new KeybridgeError('config-invalid', `${field}: ${file} must not be readable by others (chmod 600)`, { field });
    text = readFileSync(file, 'utf8').trim();
  } catch (error) {
    if (error instanceof KeybridgeError) throw error;
    throw new KeybridgeError('config-invalid', `${field}: cannot read ${file}`, { field });
  }
  if (!text) throw new KeybridgeError('config-invalid', `${field}: ${file} is empty`, { field });
  return text;
}
