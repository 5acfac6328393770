import { isIP } from 'node:net';
import { dirname, isAbsolute, resolve } from 'node:path';
import { expectHost, expectPathString, parseYaml, readConfigFile } from './load.ts';
import {
  child,
  configError,
  configPath,
  expectEnum,
  expectInteger,
  expectObject,
  expectPort,
  expectString,
  optional,
  rejectUnknownKeys,
} from './validate.ts';

/**
 * `keybridge server --config FILE`: the key service's YAML configuration, checked once
 * at start-up. Example (only `region` and `home` are required):
 *
 *   region: eu                     # the one region this node serves
 *   home: /var/lib/keybridge       # relative to the config file's directory
 *   storage: { kind: sqlite, path: keyservice.db }       # relative paths: under home
 *     # or { kind: postgres, urlFile: /etc/keybridge/pg-url }  (the URL holds a password)
 *   rootKey: { kind: software, file: root.key }
 *     # or { kind: pkcs11, module: /usr/lib/softhsm/libsofthsm2.so, tokenLabel: keybridge,
 *     #      pinFile: /etc/keybridge/hsm.pin, keyLabel: keybridge-root }
 *   listen: { host: 127.0.0.1, port: 8443 }
 *   tls: { hosts: [keys.example.com, 127.0.0.1] }   # names agents dial (server certificate)
 *   certificates: { developmentDays: 90, productionDays: 365 }
 *   production: { policy: approval }   # the default: the operator approves each request
 *     # (`keybridge server sites approve SITE`); `open`: the signature and password suffice
 *   limits:                        # registrations and re-issues per client address, password
 *     perAddress: { burst: 30, perMinute: 10 }   # guesses per account (a right one is free)
 *     perAccount: { burst: 5, perMinute: 2 }
 *
 * After `keybridge server rotate-root` the configuration stays as it is: `rootKey` names the
 * first root key and where later ones live (software: `root-<keyId>.key` files in the
 * directory of `rootKey.file`; PKCS#11: labels `<keyLabel>-<keyId>` in the same token), and
 * which one is active is recorded in the storage (`root_keys`, see roles/server.ts).
 */
export type StorageConfig = { kind: 'sqlite'; path: string } | { kind: 'postgres'; urlFile: string };
export type RootKeyConfig =
  { kind: 'software'; file: string } | { kind: 'pkcs11'; module: string; tokenLabel: string; pinFile: string; keyLabel: string };

export interface ServerConfig {
  region: string;
  /** Absolute. */
  home: string;
  storage: StorageConfig;
  rootKey: RootKeyConfig;
  listen: { host: string; port: number };
  tls: { dnsNames: string[]; ipAddresses: string[] };
  certificates: { developmentDays: number; productionDays: number };
  production: { policy: 'open' | 'approval' };
  limits: { perAddress: RateLimitConfig; perAccount: RateLimitConfig };
}

export interface RateLimitConfig {
  burst: number;
  perMinute: number;
}

export const DEFAULT_LIMITS = { perAddress: { burst: 30, perMinute: 10 }, perAccount: { burst: 5, perMinute: 2 } } as const;

export const REGION_PATTERN = /^[a-z]{2}[a-z0-9-]{0,14}$/;
export const DEFAULT_LISTEN = { host: '127.0.0.1', port: 8443 } as const;
export const DEFAULT_SQLITE_FILE = 'keyservice.db';
export const DEFAULT_ROOT_KEY_FILE = 'root.key';

export async function loadServerConfig(file: string): Promise<ServerConfig> {
  return parseServerConfig(await readConfigFile(file), file, dirname(resolve(file)));
}

/**
 * Parses and checks a server config. Relative `home` is resolved against `baseDir`
 * (default: the current directory; `loadServerConfig` passes the file's directory).
 */
export function parseServerConfig(text: string, sourceName: string, baseDir = process.cwd()): ServerConfig {
  const top = configPath(sourceName);
  const root = expectObject(parseYaml(text, sourceName), top);
  rejectUnknownKeys(root, ['region', 'home', 'storage', 'rootKey', 'listen', 'tls', 'certificates', 'production', 'limits'], top);

  const region = expectString(root.region, child(top, 'region'), {
    pattern: REGION_PATTERN,
    expected: 'a region id: 2–16 characters, lowercase letters first, then letters, digits or "-" (e.g. eu, us-east)',
  });
  const home = resolve(baseDir, expectPathString(root.home, child(top, 'home')));
  const underHome = (path: string): string => (isAbsolute(path) ? path : resolve(home, path));

  const storageAt = child(top, 'storage');
  const storage = optional(root.storage, {}, (v) => expectObject(v, storageAt));
  const storageKind = optional(storage.kind, 'sqlite' as const, (v) => expectEnum(v, child(storageAt, 'kind'), ['sqlite', 'postgres']));
  let storageConfig: StorageConfig;
  if (storageKind === 'sqlite') {
    rejectUnknownKeys(storage, ['kind', 'path'], storageAt);
    storageConfig = {
      kind: 'sqlite',
      path: underHome(optional(storage.path, DEFAULT_SQLITE_FILE, (v) => expectPathString(v, child(storageAt, 'path')))),
    };
  } else {
    rejectUnknownKeys(storage, ['kind', 'urlFile'], storageAt);
    storageConfig = { kind: 'postgres', urlFile: underHome(expectPathString(storage.urlFile, child(storageAt, 'urlFile'))) };
  }

  const rootKeyAt = child(top, 'rootKey');
  const rootKey = optional(root.rootKey, {}, (v) => expectObject(v, rootKeyAt));
  const rootKeyKind = optional(rootKey.kind, 'software' as const, (v) => expectEnum(v, child(rootKeyAt, 'kind'), ['software', 'pkcs11']));
  let rootKeyConfig: RootKeyConfig;
  if (rootKeyKind === 'software') {
    rejectUnknownKeys(rootKey, ['kind', 'file'], rootKeyAt);
    rootKeyConfig = {
      kind: 'software',
      file: underHome(optional(rootKey.file, DEFAULT_ROOT_KEY_FILE, (v) => expectPathString(v, child(rootKeyAt, 'file')))),
    };
  } else {
    rejectUnknownKeys(rootKey, ['kind', 'module', 'tokenLabel', 'pinFile', 'keyLabel'], rootKeyAt);
    rootKeyConfig = {
      kind: 'pkcs11',
      module: expectPathString(rootKey.module, child(rootKeyAt, 'module')),
      tokenLabel: expectString(rootKey.tokenLabel, child(rootKeyAt, 'tokenLabel'), { maxLength: 32 }),
      pinFile: underHome(expectPathString(rootKey.pinFile, child(rootKeyAt, 'pinFile'))),
      keyLabel: optional(rootKey.keyLabel, 'keybridge-root', (v) => expectString(v, child(rootKeyAt, 'keyLabel'), { maxLength: 64 })),
    };
  }

  const listenAt = child(top, 'listen');
  const listen = optional(root.listen, {}, (v) => expectObject(v, listenAt));
  rejectUnknownKeys(listen, ['host', 'port'], listenAt);
  const host = optional(listen.host, DEFAULT_LISTEN.host, (v) => expectHost(v, child(listenAt, 'host')));
  const port = optional(listen.port, DEFAULT_LISTEN.port, (v) => expectPort(v, child(listenAt, 'port'), { allowZero: true }));

  const tlsAt = child(top, 'tls');
  const tls = optional(root.tls, {}, (v) => expectObject(v, tlsAt));
  rejectUnknownKeys(tls, ['hosts'], tlsAt);
  const hostsAt = child(tlsAt, 'hosts');
  const hosts = optional(tls.hosts, ['localhost', '127.0.0.1'], (v) => {
    if (!Array.isArray(v) || v.length === 0 || v.length > 32)
      throw configError(hostsAt, 'must be a list of 1 to 32 host names or IP addresses');
    return v.map((item, index) => expectHost(item, child(hostsAt, String(index))));
  });

  const certificatesAt = child(top, 'certificates');
  const certificates = optional(root.certificates, {}, (v) => expectObject(v, certificatesAt));
  rejectUnknownKeys(certificates, ['developmentDays', 'productionDays'], certificatesAt);
  const developmentDays = optional(certificates.developmentDays, 90, (v) =>
    expectInteger(v, child(certificatesAt, 'developmentDays'), 1, 825),
  );
  const productionDays = optional(certificates.productionDays, 365, (v) =>
    expectInteger(v, child(certificatesAt, 'productionDays'), 1, 825),
  );

  const productionAt = child(top, 'production');
  const production = optional(root.production, {}, (v) => expectObject(v, productionAt));
  rejectUnknownKeys(production, ['policy'], productionAt);
  const policy = optional(production.policy, 'approval' as const, (v) =>
    expectEnum(v, child(productionAt, 'policy'), ['open', 'approval']),
  );

  const limitsAt = child(top, 'limits');
  const limits = optional(root.limits, {}, (v) => expectObject(v, limitsAt));
  rejectUnknownKeys(limits, ['perAddress', 'perAccount'], limitsAt);
  const limit = (name: 'perAddress' | 'perAccount'): RateLimitConfig => {
    const at = child(limitsAt, name);
    const value = optional(limits[name], {}, (v) => expectObject(v, at));
    rejectUnknownKeys(value, ['burst', 'perMinute'], at);
    return {
      burst: optional(value.burst, DEFAULT_LIMITS[name].burst, (v) => expectInteger(v, child(at, 'burst'), 1, 100_000)),
      perMinute: optional(value.perMinute, DEFAULT_LIMITS[name].perMinute, (v) => expectInteger(v, child(at, 'perMinute'), 1, 100_000)),
    };
  };

  const config: ServerConfig = {
    region,
    home,
    storage: storageConfig,
    rootKey: rootKeyConfig,
    listen: { host, port },
    tls: { dnsNames: hosts.filter((h) => isIP(h) === 0), ipAddresses: hosts.filter((h) => isIP(h) !== 0) },
    certificates: { developmentDays, productionDays },
    production: { policy },
    limits: { perAddress: limit('perAddress'), perAccount: limit('perAccount') },
  };
  if (storageConfig.kind === 'sqlite' && rootKeyConfig.kind === 'software' && storageConfig.path === rootKeyConfig.file) {
    throw configError(child(rootKeyAt, 'file'), 'must not be the same file as storage.path');
  }
  return config;
}
