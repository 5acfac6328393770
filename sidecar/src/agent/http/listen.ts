import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Server } from 'node:http';
import { chmodSync, existsSync, lstatSync, unlinkSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import type { ListenAddress } from '../../config/listen.ts';
import { KeybridgeError } from '../../errors.ts';

export type { ListenAddress } from '../../config/listen.ts';

export interface RunningServer {
  server: Server;
  /** `http://127.0.0.1:PORT` or `unix:/path`, as clients should be told. */
  url: string;
  close(): Promise<void>;
}

/**
 * The agent's front ends (pipeline.ts): `request` takes every request node:http parses,
 * `sockets` (optional) whole hot reads straight off each new connection, handing the
 * connection to node:http at its first request it does not serve (fast-read-sockets.ts).
 */
export interface FrontEnds {
  request: (req: IncomingMessage, res: ServerResponse) => void;
  sockets?: (options: { handOff: (socket: Socket) => void; keepAliveTimeoutMs: number }) => FastSockets;
  /** Told once the address is bound (a unix socket takes any Host header). */
  listening?: (transport: ListenAddress['kind']) => void;
}

export interface FastSockets {
  accept(socket: Socket): void;
  closeAll(): void;
}

const KEEP_ALIVE_TIMEOUT_MS = 65_000;

export async function listen(frontEnds: FrontEnds, address: ListenAddress): Promise<RunningServer> {
  const server = createServer(frontEnds.request);
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  const sockets = frontEnds.sockets ? takeConnections(server, frontEnds.sockets) : null;
  if (address.kind === 'unix') {
    // A socket left by a crashed agent would make listen() fail: remove it, but only if it
    // is a socket and nobody answers on it (never take over a running agent's socket).
    if (existsSync(address.path) && lstatSync(address.path).isSocket()) {
      if (await answers(address.path)) {
        throw new KeybridgeError('config-invalid', `listen: another process is serving on ${address.path}`, { field: 'listen' });
      }
      unlinkSync(address.path);
    }
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(address.path, () => resolve());
    });
    chmodSync(address.path, 0o660);
  } else {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(address.port, address.host, () => resolve());
    });
  }
  frontEnds.listening?.(address.kind);
  const bound = server.address();
  const url =
    address.kind === 'unix'
      ? `unix:${address.path}`
      : `http://${address.host.includes(':') ? `[${address.host}]` : address.host}:${typeof bound === 'object' && bound ? bound.port : address.port}`;
  return {
    server,
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        sockets?.closeAll();
        server.closeAllConnections();
      }),
  };
}

/**
 * Puts the fast path in front of node:http on every new connection: node:http's own
 * connection listener (the one http.Server registers) is taken off the server and called
 * only when the fast path hands a connection over. The server stays node:http's in every
 * other way (it listens, tracks what it was handed, applies its timeouts to it).
 */
function takeConnections(server: Server, make: NonNullable<FrontEnds['sockets']>): FastSockets {
  const listeners = server.listeners('connection');
  if (listeners.length !== 1) throw new Error(`node:http registered ${listeners.length} connection listeners, expected 1`);
  const nodeListener = listeners[0] as (socket: Socket) => void;
  server.removeListener('connection', nodeListener);
  const sockets = make({ handOff: (socket) => nodeListener.call(server, socket), keepAliveTimeoutMs: KEEP_ALIVE_TIMEOUT_MS });
  server.on('connection', (socket: Socket) => sockets.accept(socket));
  return sockets;
}

function answers(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = connect(socketPath);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
}
