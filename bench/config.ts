/**
 * Bench settings, from the environment (all optional):
 *
 *   BENCH_SECONDS          measured seconds per row (default 5)
 *   BENCH_WARMUP_SECONDS   warm-up seconds per row, not measured (default 3: with 1 s the c1
 *                          rows measured the JIT still compiling, agent and load generator
 *                          alike, p50 2× too high and rising through the window)
 *   BENCH_MAX_REQUESTS     hard cap on requests per row, warm-up included (default 2,000,000)
 *   BENCH_KEYS             keys stored and read in rotation by keys/get (default 100)
 *   BENCH_PIN              1 (default): server on core 0, load generator on core 1, via
 *                          taskset, when there are ≥ 2 cores; 0: let the scheduler place them
 *   BENCH_ONLY             comma-separated row ids to run, e.g. `get-tcp-c64,baseline-tcp-c64`
 *                          (ids: baseline-tcp-c1 baseline-tcp-c64 baseline-unix-c1 get-tcp-c1
 *                          get-tcp-c64 fetch-tcp-c1 fetch-tcp-c64 get-unix-c1 fetch-unix-c1)
 *   BENCH_AGENT_LOG        file (default): the agent's per-request access log (stderr) goes
 *                          to a file, as in production; null: to /dev/null
 *   BENCH_QUIET_WAIT       seconds (default 0) to wait before each row, at most, for other
 *                          processes to go quiet (< 15% of a core): for shared machines
 *   BENCH_KEYBRIDGE_BIN    another checkout's bin/keybridge.js to benchmark instead of this
 *                          one (A/B: e.g. a copy with a proposed change applied)
 *   BENCH_CPU_PROF         1: run `keybridge up` under `node --cpu-prof`; profiles land in
 *                          bench/results/profiles/<timestamp>/ and a summary is printed
 *                          (bench/profile-summary.ts FILE.cpuprofile prints one again)
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

export interface BenchConfig {
  measureSeconds: number;
  warmupSeconds: number;
  maxRequests: number;
  keyCount: number;
  pin: boolean;
  only: string[] | null;
  agentLog: 'file' | 'null';
  cpuProfile: boolean;
  keybridgeBin: string | null;
  quietWaitSeconds: number;
}

function number(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min || value > max) {
    throw new Error(`${name} must be a number from ${min} to ${max}, got ${JSON.stringify(raw)}`);
  }
  return value;
}

function flag(name: string, fallback: boolean): boolean {
  const raw = process.env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === '') return fallback;
  if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
  if (['0', 'false', 'no', 'off'].includes(raw)) return false;
  throw new Error(`${name} must be 1 or 0, got ${JSON.stringify(raw)}`);
}

export function readConfig(): BenchConfig {
  const only =
    process.env.BENCH_ONLY?.split(',')
      .map((id) => id.trim())
      .filter(Boolean) ?? [];
  const log = (process.env.BENCH_AGENT_LOG ?? 'file').trim();
  if (log !== 'file' && log !== 'null') throw new Error('BENCH_AGENT_LOG must be file or null');
  const bin = process.env.BENCH_KEYBRIDGE_BIN?.trim();
  if (bin && !existsSync(resolve(bin))) throw new Error(`BENCH_KEYBRIDGE_BIN: ${bin} does not exist`);
  return {
    measureSeconds: number('BENCH_SECONDS', 5, 0.5, 120),
    warmupSeconds: number('BENCH_WARMUP_SECONDS', 3, 0, 30),
    maxRequests: Math.floor(number('BENCH_MAX_REQUESTS', 2_000_000, 1, 50_000_000)),
    keyCount: Math.floor(number('BENCH_KEYS', 100, 1, 1000)),
    pin: flag('BENCH_PIN', true),
    only: only.length > 0 ? only : null,
    agentLog: log,
    cpuProfile: flag('BENCH_CPU_PROF', false),
    quietWaitSeconds: number('BENCH_QUIET_WAIT', 0, 0, 600),
    keybridgeBin: process.env.BENCH_KEYBRIDGE_BIN?.trim() ? resolve(process.env.BENCH_KEYBRIDGE_BIN.trim()) : null,
  };
}
