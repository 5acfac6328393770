import { isIP } from 'node:net';
import { KeybridgeError } from '../errors.ts';

/**
 * Where the agent listens: `HOST:PORT` on a loopback address, or `unix:/path/to.sock`.
 * Anything that would expose the agent beyond this host is refused: PHP on the same
 * machine is its only client.
 */
export type ListenAddress = { kind: 'tcp'; host: string; port: number } | { kind: 'unix'; path: string };

export function parseListen(value: string, field = 'listen'): ListenAddress {
  if (value.startsWith('unix:')) {
    const path = value.slice('unix:'.length);
    if (!path.startsWith('/')) throw new KeybridgeError('config-invalid', `${field}: unix socket path must be absolute`, { field });
    return { kind: 'unix', path };
  }
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(value);
  if (!match)
    throw new KeybridgeError('config-invalid', `${field}: expected HOST:PORT or unix:/path, got ${JSON.stringify(value)}`, { field });
  const host = match[1] ?? match[2];
  const port = Number(match[3]);
  if (port > 65535) throw new KeybridgeError('config-invalid', `${field}: port must be 0 to 65535`, { field });
  if (!isLoopback(host)) {
    throw new KeybridgeError('config-invalid', `${field}: the agent listens on loopback only (127.0.0.1, ::1 or localhost), not ${host}`, {
      field,
    });
  }
  return { kind: 'tcp', host, port };
}

function isLoopback(host: string): boolean {
  if (host === 'localhost' || host === '::1') return true;
  return isIP(host) === 4 && host.startsWith('127.');
}
