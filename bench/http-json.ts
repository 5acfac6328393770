/**
 * A small JSON-over-HTTP client for the bench's setup steps (set keys, warm the cache,
 * check values). Not used to generate load: that is bench/loadgen.ts, in its own process.
 */
import http from 'node:http';
import type { Target } from './loadgen-protocol.ts';

const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 4 });

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
  options: { token?: string; body?: unknown; timeoutMs?: number } = {},
): Promise<JsonResponse> {
  const payload = options.body === undefined ? undefined : Buffer.from(JSON.stringify(options.body), 'utf8');
  const headers: Record<string, string> = { Host: hostHeader(target) };
  if (options.token) headers.Authorization = `Bearer ${options.token}`;
  if (payload) {
    headers['Content-Type'] = 'application/json';
    headers['Content-Length'] = String(payload.length);
  }
  const where = target.kind === 'tcp' ? { host: target.host, port: target.port } : { socketPath: target.path };
  return new Promise((resolve, reject) => {
    const request = http.request({ ...where, method, path, headers, agent: keepAlive }, (response) => {
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
export async function postOk<T>(target: Target, token: string, path: string, body: unknown): Promise<T> {
  const response = await requestJson(target, 'POST', path, { token, body });
  if (response.status !== 200) {
    const type = (response.body as { type?: string } | null)?.type ?? '';
    throw new Error(`POST ${path} answered ${response.status} ${type}`);
  }
  return response.body as T;
}

export function closeIdleSockets(): void {
  keepAlive.destroy();
}
