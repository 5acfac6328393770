import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AccessLogEntry } from '../src/agent/http/pipeline.ts';
import { agentCaller, type ApiResponse } from './agent-caller.ts';
import type { ListenAddress } from '../src/config/listen.ts';
import { up, type UpInstance } from '../src/roles/up.ts';

/**
 * A real embedded keybridge (key service + agent, SQLite, software root key) on an
 * ephemeral loopback port in a temp home, for tests that speak the agent's HTTP API.
 * `call` goes through agent-caller.ts (the CLI's client: connections proven both ways).
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

export type { ApiResponse } from './agent-caller.ts';

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
  const caller = agentCaller(instance.url, { tokenFile: instance.tokenFile });
  return {
    instance,
    home,
    url: instance.url,
    token,
    logs,
    call: caller.call,
    stop: async () => {
      caller.close();
      await instance.close();
      if (!options.home) rmSync(home, { recursive: true, force: true });
    },
  };
}
