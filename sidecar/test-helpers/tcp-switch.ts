import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * Plain TCP in front of a real key-service node, for failover tests: `down` drops every
 * connection at once and refuses (resets) new ones, as a crashed node or a firewall would;
 * `blackhole` accepts connections and never answers, as an unreachable host does until the
 * client's timeout. TLS passes through untouched (the node's certificate names 127.0.0.1).
 */
export interface TcpSwitch {
  url: string;
  /** Connections accepted so far (also while down or black-holed). */
  accepted: number;
  setDown(down: boolean): void;
  close(): Promise<void>;
}

export async function startTcpSwitch(target: string | null): Promise<TcpSwitch> {
  const sockets = new Set<Socket>();
  let down = false;
  const state = { accepted: 0 };
  const server: Server = createServer((socket) => {
    state.accepted++;
    track(socket);
    socket.on('error', () => undefined);
    if (target === null) return; // black hole: hold the connection, say nothing
    if (down) {
      socket.resetAndDestroy();
      return;
    }
    const { hostname, port } = new URL(target);
    const upstream = connect(Number(port), hostname);
    track(upstream);
    upstream.on('error', () => socket.destroy());
    socket.on('close', () => upstream.destroy());
    upstream.on('close', () => socket.destroy());
    socket.pipe(upstream).pipe(socket);
  });
  function track(socket: Socket): void {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `https://127.0.0.1:${port}`,
    get accepted() {
      return state.accepted;
    },
    setDown(value: boolean) {
      down = value;
      if (value) for (const socket of sockets) socket.resetAndDestroy();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
