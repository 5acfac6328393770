import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { KeybridgeError } from '../errors.ts';
import {
  child,
  configError,
  configPath,
  expectEnum,
  expectObject,
  expectPort,
  expectString,
  optional,
  rejectUnknownKeys,
  type ConfigPath,
} from './validate.ts';

/**
 * `keybridge server --config FILE`: the key service's YAML configuration, checked once
 * at start-up. Example (only `region` and `home` are required):
 *
 *   region: eu                     # the one region this node serves
 *   home: /var/lib/keybridge       # relative to the config file's directory
 *   storage: { kind: sqlite, path: keyservice.db }       # relative paths: under home
 *   rootKey: { kind: software, file: root.key }
 *   listen: { host: 127.0.0.1, port: 8443 }
 */
export interface ServerConfig {
  region: string;
  /** Absolute. */
  home: string;
  storage: { kind: 'sqlite'; path: string };
  rootKey: { kind: 'software'; file: string };
  listen: { host: string; port: number };
}

export const REGION_PATTERN = /^[a-z]{2}[a-z0-9-]{0,14}$/;
export const DEFAULT_LISTEN = { host: '127.0.0.1', port: 8443 } as const;
export const DEFAULT_SQLITE_FILE = 'keyservice.db';
export const DEFAULT_ROOT_KEY_FILE = 'root.key';
const MAX_CONFIG_BYTES = 1024 * 1024;

export async function loadServerConfig(file: string): Promise<ServerConfig> {
  let text: string;
  try {
    const bytes = await readFile(file);
    if (bytes.length > MAX_CONFIG_BYTES) throw configError(configPath(file), 'is larger than 1 MB');
    text = bytes.toString('utf8');
  } catch (error) {
    if (error instanceof KeybridgeError) throw error;
    const code = (error as NodeJS.ErrnoException).code ?? 'unknown error';
    throw configError(configPath(file), `cannot be read (${code})`);
  }
  return parseServerConfig(text, file, dirname(resolve(file)));
}

/**
 * Parses and checks a server config. Relative `home` is resolved against `baseDir`
 * (default: the current directory; `loadServerConfig` passes the file's directory).
 */
export function parseServerConfig(text: string, sourceName: string, baseDir = process.cwd()): ServerConfig {
  const top = configPath(sourceName);
  const root = expectObject(parseYaml(text, sourceName), top);
  rejectUnknownKeys(root, ['region', 'home', 'storage', 'rootKey', 'listen'], top);

  const region = expectString(root.region, child(top, 'region'), {
    pattern: REGION_PATTERN,
    expected: 'a region id: 2–16 characters, lowercase letters first, then letters, digits or "-" (e.g. eu, us-east)',
  });
  const home = resolve(baseDir, expectPathString(root.home, child(top, 'home')));
  const underHome = (path: string): string => (isAbsolute(path) ? path : resolve(home, path));

  const storageAt = child(top, 'storage');
  const storage = optional(root.storage, {}, (v) => expectObject(v, storageAt));
  rejectUnknownKeys(storage, ['kind', 'path'], storageAt);
  const storageKind = optional(storage.kind, 'sqlite' as const, (v) => expectEnum(v, child(storageAt, 'kind'), ['sqlite']));
  const storagePath = optional(storage.path, DEFAULT_SQLITE_FILE, (v) => expectPathString(v, child(storageAt, 'path')));

  const rootKeyAt = child(top, 'rootKey');
  const rootKey = optional(root.rootKey, {}, (v) => expectObject(v, rootKeyAt));
  rejectUnknownKeys(rootKey, ['kind', 'file'], rootKeyAt);
  const rootKeyKind = optional(rootKey.kind, 'software' as const, (v) => expectEnum(v, child(rootKeyAt, 'kind'), ['software']));
  const rootKeyFile = optional(rootKey.file, DEFAULT_ROOT_KEY_FILE, (v) => expectPathString(v, child(rootKeyAt, 'file')));

  const listenAt = child(top, 'listen');
  const listen = optional(root.listen, {}, (v) => expectObject(v, listenAt));
  rejectUnknownKeys(listen, ['host', 'port'], listenAt);
  const host = optional(listen.host, DEFAULT_LISTEN.host, (v) => expectHost(v, child(listenAt, 'host')));
  const port = optional(listen.port, DEFAULT_LISTEN.port, (v) => expectPort(v, child(listenAt, 'port')));

  const config: ServerConfig = {
    region,
    home,
    storage: { kind: storageKind, path: underHome(storagePath) },
    rootKey: { kind: rootKeyKind, file: underHome(rootKeyFile) },
    listen: { host, port },
  };
  if (config.storage.path === config.rootKey.file) {
    throw configError(child(rootKeyAt, 'file'), 'must not be the same file as storage.path');
  }
  return config;
}

function parseYaml(text: string, sourceName: string): unknown {
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: false });
  const [error] = doc.errors;
  if (error) {
    const position = error.linePos?.[0];
    const where = position ? `line ${position.line}, column ${position.col}` : 'YAML';
    const reason = error.message.split('\n')[0].replace(/ at line \d+, column \d+.*$/, '');
    throw new KeybridgeError('config-invalid', `${sourceName}: ${where}: ${reason}`);
  }
  try {
    return doc.toJS({ maxAliasCount: 100 });
  } catch {
    throw new KeybridgeError('config-invalid', `${sourceName}: the YAML uses too many aliases`);
  }
}

function expectPathString(value: unknown, at: ConfigPath): string {
  const path = expectString(value, at, { expected: 'a non-empty file system path', maxLength: 4096 });
  if (path.includes('\u0000')) throw configError(at, 'must not contain a NUL character');
  return path;
}

const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

function expectHost(value: unknown, at: ConfigPath): string {
  const host = expectString(value, at, { expected: 'an IP address or a host name (e.g. 127.0.0.1, ::1, 0.0.0.0)' });
  if (isIP(host) === 0 && !HOSTNAME.test(host)) {
    throw configError(at, 'must be an IP address or a host name (e.g. 127.0.0.1, ::1, 0.0.0.0)');
  }
  return host;
}
