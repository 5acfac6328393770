import { createServer, type Server } from 'node:https';
import { createAdaptorServer } from '@hono/node-server';
import type { Hono } from 'hono';

/**
 * The key service's TLS listener. It asks every client for a certificate but lets the
 * handshake finish without one (`rejectUnauthorized: false`): registration needs no
 * certificate, and a bad certificate is better answered with a problem+json that says
 * why (expired, revoked, other CA) than with a bare TLS alert. The app checks the
 * certificate on every request (site-authority.ts `identify`).
 */
export interface TlsMaterial {
  keyPem: string;
  certPem: string;
  caCertPem: string;
}

export interface RunningKeyService {
  server: Server;
  url: string;
  close(): Promise<void>;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any app's Env: only app.fetch is used
export async function listenTls(app: Hono<any>, tls: TlsMaterial, host: string, port: number): Promise<RunningKeyService> {
  const server = createAdaptorServer({
    fetch: app.fetch,
    createServer,
    serverOptions: {
      key: tls.keyPem,
      cert: tls.certPem,
      ca: [tls.caCertPem],
      requestCert: true,
      rejectUnauthorized: false,
      minVersion: 'TLSv1.2',
    },
  }) as Server;
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address();
  const boundPort = typeof address === 'object' && address ? address.port : port;
  return {
    server,
    url: `https://${host.includes(':') ? `[${host}]` : host}:${boundPort}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
