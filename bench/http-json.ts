/**
 * A small JSON-over-HTTP client for the bench's setup steps (set keys, warm the cache,
 * check values). Not used to generate load: that is bench/loadgen.ts, in its own process.
 */
import http from 'node:http';
import { ProvenConnections } from '../sidecar/src/cli/proven-connection.ts';
import { ProofKey } from '../sidecar/src/protocol/local-auth.ts';
import { everyRequestAuthorization, type BenchAuth } from './agent-auth.ts';
import type { Target } from './loadgen-protocol.ts';

const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 4 });
/** Connections proven both ways (the CLI's), one pool per agent and token. */
const proven = new Map<string, ProvenConnections>();

function provenPool(target: Target, token: string): ProvenConnections {
  const where = target.kind === 'tcp' ? `${target.host}:${target.port}` : target.path;
  let pool = proven.get(`${where} ${token}`);
  if (!pool) {
    const key = new ProofKey(token);
    const agentTarget =
      target.kind === 'tcp' ? { host: target.host, port: target.port, display: where } : { socketPath: target.path, display: where };
    pool = new ProvenConnections(agentTarget, () => key, { maxSockets: 4 });
    proven.set(`${where} ${token}`, pool);
  }
  return pool;
}

export interface JsonResponse {
  status: number;
  body: unknown;
}

export function hostHeader(target: Target): string {
  return target.kind === 'tcp' ? `${target.host.includes(':') ? `[${target.host}]` : target.host}:${target.port}` : 'localhost';
}

export function requestJson(
  target: Target,
  method: 'GET' | 'POST',
  path: string,
  options: { auth?: BenchAuth; body?: unknown; timeoutMs?: number } = {},
): Promise<JsonResponse> {
  const payload = options.body === undefined ? undefined : Buffer.from(JSON.stringify(options.body), 'utf8');
  const headers: Record<string, string> = { Host: hostHeader(target) };
  const authorization = options.auth ? everyRequestAuthorization(options.auth) : undefined;
  if (authorization) headers.Authorization = authorization;
  const agent = options.auth?.scheme === 'proof' ? provenPool(target, options.auth.token) : keepAlive;
  if (payload) {
    headers['Content-Type'] = 'application/json';
    headers['Content-Length'] = String(payload.length);
  }
  const where = target.kind === 'tcp' ? { host: target.host, port: target.port } : { socketPath: target.path };
  return new Promise((resolve, reject) => {
    const request = http.request({ ...where, method, path, headers, agent }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          // keep the text
        }
        resolve({ status: response.statusCode ?? 0, body });
      });
      response.on('error', reject);
    });
    request.setTimeout(options.timeoutMs ?? 30_000, () => request.destroy(new Error(`${method} ${path} timed out`)));
    request.on('error', reject);
    request.end(payload);
  });
}

/** POST expecting 200; anything else throws with the problem type (never the request body). */
export async function postOk<T>(target: Target, auth: BenchAuth, path: string, body: unknown): Promise<T> {
  const response = await requestJson(target, 'POST', path, { auth, body });
  if (response.status !== 200) {
    const type = (response.body as { type?: string } | null)?.type ?? '';
    throw new Error(`POST ${path} answered ${response.status} ${type}`);
  }
  return response.body as T;
}

export function closeIdleSockets(): void {
  keepAlive.destroy();
  for (const pool of proven.values()) pool.destroy();
  proven.clear();
}
