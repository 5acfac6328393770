import { dirname, isAbsolute, resolve } from 'node:path';
import { parseListen, type ListenAddress } from '../agent/listen.ts';
import { KeybridgeError } from '../errors.ts';
import { expectPathString, parseYaml, readConfigFile } from './load.ts';
import { REGION_PATTERN } from './server.ts';
import { child, configError, configPath, expectInteger, expectObject, expectString, optional, rejectUnknownKeys } from './validate.ts';

/**
 * `keybridge agent --config FILE`: the sidecar beside one host's PHP sites. Example:
 *
 *   region: eu
 *   listen: unix:/run/keybridge/agent.sock      # or 127.0.0.1:8877 (loopback only)
 *   tokenFile: /etc/keybridge/agent.token        # created 0600 if missing; give its path to the CMS
 *   certDir: /var/lib/keybridge/certs            # outside every webroot, 0700
 *   keyservice:
 *     urls: [https://keys-1.example.com:8443, https://keys-2.example.com:8443]
 *     caFile: /etc/keybridge/keyservice-ca.pem   # the key service's CA (its ca/ca.pem)
 *   webroots: [/var/www/html]                    # the status table checks certDir is outside
 *   cache: { ttlSeconds: 30, staleSeconds: 900 }
 *
 * Relative paths are resolved against the config file's directory.
 */
export interface AgentConfig {
  region: string;
  listen: ListenAddress;
  tokenFile: string;
  certDir: string;
  keyservice: { urls: string[]; caFile: string };
  webroots: string[];
  cache: { ttlMs: number; staleMs: number };
}

export async function loadAgentConfig(file: string): Promise<AgentConfig> {
  return parseAgentConfig(await readConfigFile(file), file, dirname(resolve(file)));
}

export function parseAgentConfig(text: string, sourceName: string, baseDir = process.cwd()): AgentConfig {
  const top = configPath(sourceName);
  const root = expectObject(parseYaml(text, sourceName), top);
  rejectUnknownKeys(root, ['region', 'listen', 'tokenFile', 'certDir', 'keyservice', 'webroots', 'cache'], top);
  const path = (value: unknown, field: string) => {
    const p = expectPathString(value, child(top, field));
    return isAbsolute(p) ? p : resolve(baseDir, p);
  };

  const region = expectString(root.region, child(top, 'region'), { pattern: REGION_PATTERN, expected: 'a region id such as eu or us-east' });
  const listenText = optional(root.listen, '127.0.0.1:8877', (v) => expectString(v, child(top, 'listen')));
  let listen: ListenAddress;
  try {
    listen = parseListen(listenText, 'listen');
  } catch (error) {
    throw configError(child(top, 'listen'), error instanceof KeybridgeError && error.detail ? error.detail.replace(/^listen: /, '') : 'is invalid');
  }

  const keyserviceAt = child(top, 'keyservice');
  const keyservice = expectObject(root.keyservice, keyserviceAt);
  rejectUnknownKeys(keyservice, ['urls', 'caFile'], keyserviceAt);
  const urlsAt = child(keyserviceAt, 'urls');
  if (!Array.isArray(keyservice.urls) || keyservice.urls.length === 0 || keyservice.urls.length > 16) {
    throw configError(urlsAt, 'must be a list of 1 to 16 https:// URLs');
  }
  const urls = keyservice.urls.map((value, index) => {
    const at = child(urlsAt, String(index));
    const text = expectString(value, at);
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      throw configError(at, 'must be an https:// URL');
    }
    if (url.protocol !== 'https:' || url.username || url.password || (url.pathname !== '/' && url.pathname !== '')) {
      throw configError(at, 'must be an https://host[:port] URL without a path or credentials');
    }
    return url.origin;
  });

  const webrootsAt = child(top, 'webroots');
  const webroots = optional(root.webroots, [] as string[], (v) => {
    if (!Array.isArray(v)) throw configError(webrootsAt, 'must be a list of directories');
    return v.map((item, index) => path(item, `webroots.${index}`));
  });

  const cacheAt = child(top, 'cache');
  const cache = optional(root.cache, {}, (v) => expectObject(v, cacheAt));
  rejectUnknownKeys(cache, ['ttlSeconds', 'staleSeconds'], cacheAt);
  const ttlSeconds = optional(cache.ttlSeconds, 30, (v) => expectInteger(v, child(cacheAt, 'ttlSeconds'), 0, 3600));
  const staleSeconds = optional(cache.staleSeconds, 900, (v) => expectInteger(v, child(cacheAt, 'staleSeconds'), 0, 7 * 24 * 3600));

  return {
    region,
    listen,
    tokenFile: path(root.tokenFile, 'tokenFile'),
    certDir: path(root.certDir, 'certDir'),
    keyservice: { urls, caFile: path(keyservice.caFile, 'keyservice.caFile') },
    webroots,
    cache: { ttlMs: ttlSeconds * 1000, staleMs: staleSeconds * 1000 },
  };
}
