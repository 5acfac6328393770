import { Agent, request } from 'node:https';
import { createCsr, generateKeyPairAsync, type KeyPair, type SubjectFields } from '../src/pki/index.ts';

/**
 * Raw HTTPS calls to a key service with `node:https` itself (no keybridge client in
 * between), presenting whatever client certificate a test hands over — or none.
 */
export interface RawResponse {
  status: number;
  json: any;
  text: string;
  headers: import('node:http').IncomingHttpHeaders;
  /** Whether the request went over a kept-alive connection opened by an earlier request. */
  reusedSocket: boolean;
  /** The local port of the TLS connection, to tell connections apart. */
  localPort: number | undefined;
}

export interface ClientMaterial {
  keyPem?: string;
  certPem?: string;
}

/** An https.Agent that trusts only `caCertPem` and presents `client` (if any) as its certificate. */
export function tlsAgent(caCertPem: string, client: ClientMaterial = {}, keepAlive = false): Agent {
  return new Agent({ ca: [caCertPem], key: client.keyPem, cert: client.certPem, keepAlive, maxSockets: 1, minVersion: 'TLSv1.2' });
}

/**
 * One request. A server that never answers fails the test after `timeoutMs` instead of
 * hanging it; a TLS-level refusal rejects with the socket error.
 */
export function rawRequest(
  baseUrl: string,
  method: string,
  path: string,
  options: { agent: Agent; body?: unknown; rawBody?: Buffer; timeoutMs?: number },
): Promise<RawResponse> {
  const payload = options.rawBody ?? (options.body === undefined ? undefined : Buffer.from(JSON.stringify(options.body), 'utf8'));
  return new Promise((resolve, reject) => {
    const req = request(
      new URL(path, baseUrl),
      {
        method,
        agent: options.agent,
        headers: payload ? { 'Content-Type': 'application/json', 'Content-Length': String(payload.length) } : {},
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: any;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({
            status: res.statusCode ?? 0,
            json,
            text,
            headers: res.headers,
            reusedSocket: req.reusedSocket,
            localPort: res.socket?.localPort,
          });
        });
      },
    );
    req.setTimeout(options.timeoutMs ?? 10_000, () =>
      req.destroy(new Error(`no answer to ${method} ${path} within ${options.timeoutMs ?? 10_000} ms`)),
    );
    req.on('error', reject);
    req.end(payload);
  });
}

export interface RawRegistration {
  response: RawResponse;
  keyPair: KeyPair;
  csrPem: string;
}

/** POST /ks/v1/register with a fresh key pair, as an agent would, without a client certificate. */
export async function registerRaw(
  server: { url: string; caCertPem: string },
  input: { email: unknown; password?: unknown; siteName?: unknown; subject?: SubjectFields; csr?: unknown },
): Promise<RawRegistration> {
  const keyPair = await generateKeyPairAsync();
  const csrPem = createCsr(keyPair, input.subject ?? { commonName: 'keybridge site' });
  const body: Record<string, unknown> = { email: input.email, site_name: input.siteName ?? 'Test site', csr: input.csr ?? csrPem };
  if (input.password !== undefined) body.password = input.password;
  const agent = tlsAgent(server.caCertPem);
  try {
    const response = await rawRequest(server.url, 'POST', '/ks/v1/register', { agent, body });
    return { response, keyPair, csrPem };
  } finally {
    agent.destroy();
  }
}
