import { spawn } from 'node:child_process';
import { agentCaller, type AgentCaller } from './agent-caller.ts';
import { lockrItem } from './lockr-item.ts';

/**
 * Issue 13, finding 8: does listing a big vault stall reads? Shared by
 * sidecar/src/roles/listing-load.test.ts (a generous bound) and bench/listing-load.ts (the
 * figures): fill a vault through the agent's API, time cached keys/get one after another,
 * and run listings at the same time from another process (listing-load-child.ts).
 */
export interface AgentAddress {
  url: string;
  token: string;
}

export interface ListingCounts {
  listings: number;
  pages: number;
  statuses: number;
  keysSeen: number;
  errors: number;
}

/** One caller per agent address, its connections proven once and kept, as a real client's. */
const callers = new Map<string, AgentCaller>();

async function post<T>(agent: AgentAddress, path: string, body: unknown): Promise<T> {
  const id = `${agent.url} ${agent.token}`;
  let caller = callers.get(id);
  if (!caller) callers.set(id, (caller = agentCaller(agent.url, { token: agent.token })));
  const answer = await caller.call('POST', path, body);
  if (answer.status !== 200) throw new Error(`${path} answered ${answer.status}: ${answer.text.slice(0, 300)}`);
  return answer.json as T;
}

/** Closes the kept connections of every agent this module talked to. */
export function closeCallers(): void {
  for (const caller of callers.values()) caller.close();
  callers.clear();
}

/** Stores `count` keys named `${prefix}/NNNNN` through /v1/import/lockr, 500 a request, two requests at a time. */
export async function fillVault(agent: AgentAddress, count: number, prefix = 'load'): Promise<void> {
  const batches: { name: string; ciphertext: string; encoded: string }[][] = [];
  for (let start = 0; start < count; start += 500) {
    batches.push(
      Array.from({ length: Math.min(500, count - start) }, (_, offset) => {
        const index = start + offset;
        return lockrItem(`${prefix}/${String(index).padStart(5, '0')}`, `value-${index}`);
      }),
    );
  }
  const next = async (): Promise<void> => {
    const batch = batches.shift();
    if (!batch) return;
    await post(agent, '/v1/import/lockr', { items: batch });
    return next();
  };
  await Promise.all([next(), next()]);
}

/** Stores one key to read and reads it once, so its ciphertext is cached. Returns its KEK. */
export async function readableKey(agent: AgentAddress, name: string): Promise<string> {
  const written = await post<{ wrapping_key: string }>(agent, '/v1/keys/set', { name, value: 'read me' });
  await post(agent, '/v1/keys/get', { name, wrapping_key: written.wrapping_key });
  return written.wrapping_key;
}

/** keys/get of one cached key, one request after another for `ms`: each answer's latency in ms. */
export async function timeReads(agent: AgentAddress, name: string, wrappingKey: string, ms: number): Promise<number[]> {
  const latencies: number[] = [];
  const until = performance.now() + ms;
  while (performance.now() < until) {
    const started = performance.now();
    await post(agent, '/v1/keys/get', { name, wrapping_key: wrappingKey });
    latencies.push(performance.now() - started);
  }
  return latencies;
}

/** Starts `loops` listing loops in another process; stop() ends them and returns what they did. */
export function startListingLoad(agent: AgentAddress, loops: number, statusLoops = 0): { stop(): Promise<ListingCounts> } {
  const child = spawn(process.execPath, ['--import', 'tsx', new URL('./listing-load-child.ts', import.meta.url).pathname], {
    env: { ...process.env, AGENT_URL: agent.url, AGENT_TOKEN: agent.token, LOOPS: String(loops), STATUS_LOOPS: String(statusLoops) },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    async stop() {
      child.stdin.end('stop\n');
      await exited;
      return JSON.parse(output) as ListingCounts;
    },
  };
}

export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}
