import { dirname, isAbsolute, resolve } from 'node:path';
import { parseListen, type ListenAddress } from './listen.ts';
import { KeybridgeError } from '../errors.ts';
import { expectPathString, parseYaml, readConfigFile } from './load.ts';
import { REGION_PATTERN } from './server.ts';
import { isPartnerName, PLATFORM_ENVIRONMENT, type PartnerBinding } from '../protocol/partners.ts';
import {
  child,
  configError,
  configPath,
  expectInteger,
  expectObject,
  expectString,
  optional,
  rejectUnknownKeys,
  type ConfigPath,
} from './validate.ts';

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
 *   partner:                                     # only on a partner platform, see below
 *     name: pantheon
 *     environment: live                          # PANTHEON_ENVIRONMENT wins when set
 *     certFile: /certs/binding.pem               # the platform's key + certificate
 *
 * Relative paths are resolved against the config file's directory.
 *
 * Pantheon is detected without a `partner:` block too: PANTHEON_ENVIRONMENT (or
 * PANTHEON_BINDING) in the agent's environment. Its certificate is then
 * /srv/bindings/<PANTHEON_BINDING>/certs/binding.pem, else /certs/binding.pem (where Lockr's
 * clients looked), unless `partner.certFile` says otherwise. The platform's variable wins
 * over `partner.environment` because the config file is deployed with the code to every
 * environment alike; it only feeds the status row, never the vault (that is the certificate's OU).
 */
export interface AgentConfig {
  region: string;
  listen: ListenAddress;
  tokenFile: string;
  certDir: string;
  keyservice: { urls: string[]; caFile: string };
  webroots: string[];
  cache: { ttlMs: number; staleMs: number };
  /** Set on a partner platform (a `partner:` block, or the platform's environment variables). */
  partner?: PartnerBinding;
}

export async function loadAgentConfig(file: string): Promise<AgentConfig> {
  return parseAgentConfig(await readConfigFile(file), file, dirname(resolve(file)));
}

export function parseAgentConfig(
  text: string,
  sourceName: string,
  baseDir = process.cwd(),
  env: NodeJS.ProcessEnv = process.env,
): AgentConfig {
  const top = configPath(sourceName);
  const root = expectObject(parseYaml(text, sourceName), top);
  rejectUnknownKeys(root, ['region', 'listen', 'tokenFile', 'certDir', 'keyservice', 'webroots', 'cache', 'partner'], top);
  const path = (value: unknown, field: string) => {
    const p = expectPathString(value, child(top, field));
    return isAbsolute(p) ? p : resolve(baseDir, p);
  };

  const region = expectString(root.region, child(top, 'region'), {
    pattern: REGION_PATTERN,
    expected: 'a region id such as eu or us-east',
  });
  const listenText = optional(root.listen, '127.0.0.1:8877', (v) => expectString(v, child(top, 'listen')));
  let listen: ListenAddress;
  try {
    listen = parseListen(listenText, 'listen');
  } catch (error) {
    throw configError(
      child(top, 'listen'),
      error instanceof KeybridgeError && error.detail ? error.detail.replace(/^listen: /, '') : 'is invalid',
    );
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

  const partner = parsePartner(root.partner, child(top, 'partner'), env, (value) => path(value, 'partner.certFile'));
  return {
    ...(partner ? { partner } : {}),
    region,
    listen,
    tokenFile: path(root.tokenFile, 'tokenFile'),
    certDir: path(root.certDir, 'certDir'),
    keyservice: { urls, caFile: path(keyservice.caFile, 'keyservice.caFile') },
    webroots,
    cache: { ttlMs: ttlSeconds * 1000, staleMs: staleSeconds * 1000 },
  };
}

/** The partner block merged with the platform's variables; undefined off a partner platform. */
function parsePartner(
  value: unknown,
  at: ConfigPath,
  env: NodeJS.ProcessEnv,
  path: (value: unknown) => string,
): PartnerBinding | undefined {
  const fromEnvironment = env.PANTHEON_ENVIRONMENT || undefined;
  const binding = env.PANTHEON_BINDING || undefined;
  if (value === undefined && !fromEnvironment && !binding) return undefined;
  const block = value === undefined ? {} : expectObject(value, at);
  rejectUnknownKeys(block, ['name', 'environment', 'certFile'], at);
  const name = optional(block.name, 'pantheon', (v) => expectString(v, child(at, 'name')));
  if (!isPartnerName(name)) throw configError(child(at, 'name'), 'must be a known partner: pantheon');
  const platformRule = { pattern: PLATFORM_ENVIRONMENT, expected: 'a platform environment name such as live, test or dev' };
  if (fromEnvironment) expectString(fromEnvironment, configPath('PANTHEON_ENVIRONMENT'), platformRule);
  const configured = optional(block.environment, undefined, (v) => expectString(v, child(at, 'environment'), platformRule));
  if (binding && !/^[A-Za-z0-9_-]{1,128}$/.test(binding))
    throw configError(configPath('PANTHEON_BINDING'), 'must be a binding id (letters, digits, - and _)');
  const certFile =
    block.certFile !== undefined ? path(block.certFile) : binding ? `/srv/bindings/${binding}/certs/binding.pem` : '/certs/binding.pem';
  return { name, environment: fromEnvironment ?? configured ?? null, certFile };
}
