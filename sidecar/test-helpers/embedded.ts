import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AccessLogEntry } from '../src/agent/http/pipeline.ts';
import type { ListenAddress } from '../src/config/listen.ts';
import { up, type UpInstance } from '../src/roles/up.ts';

/**
 * A real embedded keybridge (key service + agent, SQLite, software root key) on an
 * ephemeral loopback port in a temp home, for tests that speak the agent's HTTP API.
 */
export interface EmbeddedAgent {
  instance: UpInstance;
  home: string;
  url: string;
  token: string;
  logs: AccessLogEntry[];
  call(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<ApiResponse>;
  stop(): Promise<void>;
}

export interface ApiResponse {
  status: number;
  headers: Headers;
  json: any;
  text: string;
}

export async function startEmbedded(
  options: {
    home?: string;
    cache?: { ttlMs?: number; staleMs?: number };
    register?: boolean;
    webroots?: string[];
    /** Default: 127.0.0.1 on a free port. */
    listen?: ListenAddress;
  } = {},
): Promise<EmbeddedAgent> {
  const home = options.home ?? mkdtempSync(join(tmpdir(), 'kb-test-'));
  const logs: AccessLogEntry[] = [];
  const instance = await up({
    home,
    listen: options.listen ?? { kind: 'tcp', host: '127.0.0.1', port: 0 },
    log: (entry) => logs.push(entry),
    cache: options.cache,
    register: options.register,
    webroots: options.webroots,
  });
  const token = readFileSync(instance.tokenFile, 'utf8').trim();
  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const init: RequestInit = { method, headers: { Authorization: `Bearer ${token}`, ...headers } };
    if (body !== undefined) {
      init.body = typeof body === 'string' ? body : JSON.stringify(body);
      (init.headers as Record<string, string>)['Content-Type'] ??= 'application/json';
    }
    const response = await fetch(`${instance.url}${path}`, init);
    const text = await response.text();
    let json: unknown = undefined;
    try {
      json = JSON.parse(text);
    } catch {
      /* left undefined: the test asserts on text */
    }
    return { status: response.status, headers: response.headers, json, text };
  };
  return {
    instance,
    home,
    url: instance.url,
    token,
    logs,
    call,
    stop: async () => {
      await instance.close();
      if (!options.home) rmSync(home, { recursive: true, force: true });
    },
  };
}
