/**
 * The floor: the cheapest useful local HTTP sidecar on this machine. A bare `node:http`
 * server, in its own child process, that reads the POST body and answers a fixed small JSON
 * (about the size of a `keys/get` answer) with the same headers the agent sends. No routing,
 * no auth, no JSON parsing, no crypto: whatever the agent costs on top of this is its own.
 *
 * Started by bench/run.ts with an IPC channel: `node --import tsx bench/baseline-server.ts
 * [unix socket path]`; answers `{ port, path }` once listening; exits on SIGTERM or when
 * the parent goes away.
 */
import http from 'node:http';
import { existsSync, unlinkSync } from 'node:fs';

const BODY = Buffer.from(
  JSON.stringify({ name: 'bench/token_000', value_base64: Buffer.alloc(40, 'x').toString('base64'), version: 1 }),
  'utf8',
);
const HEADERS = {
  'cache-control': 'no-store',
  'content-type': 'application/json',
  'content-length': String(BODY.length),
};

function handler(request: http.IncomingMessage, response: http.ServerResponse): void {
  // Read (and drop) the body, as any real endpoint must before it answers.
  request.on('data', () => undefined);
  request.on('end', () => {
    response.writeHead(200, HEADERS);
    response.end(BODY);
  });
}

function listen(server: http.Server, where: { port: number; host: string } | { path: string }): Promise<void> {
  server.keepAliveTimeout = 65_000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    if ('path' in where) server.listen(where.path, () => resolve());
    else server.listen(where.port, where.host, () => resolve());
  });
}

async function main(): Promise<void> {
  const unixPath = process.argv[2];
  const tcp = http.createServer(handler);
  await listen(tcp, { port: 0, host: '127.0.0.1' });
  const servers = [tcp];
  if (unixPath) {
    if (existsSync(unixPath)) unlinkSync(unixPath);
    const unix = http.createServer(handler);
    await listen(unix, { path: unixPath });
    servers.push(unix);
  }
  const address = tcp.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const stop = () => {
    for (const server of servers) {
      server.close();
      server.closeAllConnections();
    }
    process.exit(0);
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  process.once('disconnect', stop);
  process.send?.({ port, path: unixPath ?? null });
}

main().catch((error: Error) => {
  console.error(`baseline server: ${error.message}`);
  process.exit(1);
});
