/**
 * The bench's output: a readable table on stdout, targets with pass/fail marks, and the
 * same data as JSON in bench/results/latest.json and bench/results/<timestamp>.json.
 * A benchmark reports; missing a target never fails the process.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import type { LoadgenResult } from './loadgen-protocol.ts';
import { REPO_ROOT } from './processes.ts';
import type { Scenario } from './scenarios.ts';

export const RESULTS_DIR = join(REPO_ROOT, 'bench', 'results');

/** Other processes using more than this share of a core during a window make the row suspect. */
export const NOISY_SHARE = 0.15;

/** The issue's targets for cached reads. */
export const TARGET_RPS_AT_64 = 10_000;
export const TARGET_P50_US_AT_1 = 200;

export interface ServerSample {
  pid: number;
  rssBeforeKb: number | null;
  rssAfterKb: number | null;
  /** Largest VmRSS seen while load ran (sampled every 100 ms). */
  rssPeakSampledKb: number | null;
  /** VmHWM after the run: peak RSS since the process started. */
  hwmKb: number | null;
  /** Server CPU time during the measured window, as a share of one core. */
  cpuShare: number | null;
  /** Server CPU time per completed request in the window, µs (noise-robust; 10 ms tick resolution). */
  cpuUsPerRequest: number | null;
  /** Server CPU ms in the window per thread name (main thread is the process name, e.g. "node"). */
  threadCpuMs: Record<string, number>;
  /** CPU used by every other process on the machine during the window (noise), share of one core. */
  otherCpuShare: number | null;
}

export interface Row {
  scenario: Scenario;
  result: LoadgenResult;
  /** The measured window on the monotonic clock, µs (matches --cpu-prof sample times). */
  window: { startUs: number; endUs: number };
  server: ServerSample;
  /** Non-expected statuses plus transport errors, over the whole run (warm-up included). */
  errors: number;
  /** agent / baseline at the same concurrency and transport (req/s and p50). */
  vsBaseline: { rps: number; p50: number; baselineId: string } | null;
}

export interface TargetCheck {
  description: string;
  scenarioId: string;
  measured: number;
  unit: 'req/s' | 'µs';
  limit: number;
  pass: boolean;
}

export interface BenchReport {
  schema: 'keybridge-bench/1';
  date: string;
  machine: {
    platform: string;
    release: string;
    arch: string;
    cpuModel: string;
    cpuCount: number;
    totalMemMb: number;
    loadAvgAtStart: number[];
    node: string;
    keybridge: string;
  };
  config: Record<string, unknown>;
  rows: Row[];
  targets: TargetCheck[];
  agentMemory: { processes: { listen: string; pid: number; rssIdleKb: number | null; rssEndKb: number | null; hwmKb: number | null }[] };
  notes: string[];
  ok: boolean;
  problems: string[];
}

export function machineInfo(): BenchReport['machine'] {
  const cpus = os.cpus();
  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
  return {
    platform: os.platform(),
    release: os.release(),
    arch: os.arch(),
    cpuModel: cpus[0]?.model ?? 'unknown',
    cpuCount: cpus.length,
    totalMemMb: Math.round(os.totalmem() / 1024 / 1024),
    loadAvgAtStart: os.loadavg().map((value) => Math.round(value * 100) / 100),
    node: process.version,
    keybridge: pkg.version,
  };
}

export function attachBaselineRatios(rows: Row[]): void {
  for (const row of rows) {
    if (row.scenario.server !== 'agent') continue;
    const base = rows.find(
      (other) =>
        other.scenario.server === 'baseline' &&
        other.scenario.concurrency === row.scenario.concurrency &&
        other.scenario.transport === row.scenario.transport,
    );
    if (!base || base.result.requestsPerSecond === 0 || base.result.latency.p50Us === 0) continue;
    row.vsBaseline = {
      rps: row.result.requestsPerSecond / base.result.requestsPerSecond,
      p50: row.result.latency.p50Us / base.result.latency.p50Us,
      baselineId: base.scenario.id,
    };
  }
}

export function checkTargets(rows: Row[]): TargetCheck[] {
  const checks: TargetCheck[] = [];
  for (const row of rows) {
    if (row.scenario.server !== 'agent') continue;
    const name = `agent keys/${row.scenario.operation} (cached) over ${row.scenario.transport}`;
    if (row.scenario.concurrency === 64) {
      checks.push({
        description: `${name}, 64 connections: ≥ ${TARGET_RPS_AT_64.toLocaleString('en-US')} req/s`,
        scenarioId: row.scenario.id,
        measured: Math.round(row.result.requestsPerSecond),
        unit: 'req/s',
        limit: TARGET_RPS_AT_64,
        pass: row.errors === 0 && row.result.requestsPerSecond >= TARGET_RPS_AT_64,
      });
    }
    if (row.scenario.concurrency === 1) {
      checks.push({
        description: `${name}, 1 connection: p50 ≤ ${TARGET_P50_US_AT_1} µs`,
        scenarioId: row.scenario.id,
        measured: row.result.latency.p50Us,
        unit: 'µs',
        limit: TARGET_P50_US_AT_1,
        pass: row.errors === 0 && row.result.completed > 0 && row.result.latency.p50Us <= TARGET_P50_US_AT_1,
      });
    }
  }
  return checks;
}

const int = (value: number) => Math.round(value).toLocaleString('en-US');
const mb = (kb: number | null) => (kb === null ? '?' : (kb / 1024).toFixed(1));
const pct = (share: number | null) => (share === null ? '?' : `${Math.round(share * 100)}%`);

function pad(text: string, width: number, right = false): string {
  return right ? text.padStart(width) : text.padEnd(width);
}

function cpuPerRequest(row: Row): string {
  const value = row.server.cpuUsPerRequest;
  return value === null ? '?' : value.toFixed(0);
}

export function formatTable(rows: Row[]): string {
  const header = [
    'scenario',
    'conns',
    'req/s',
    'p50 µs',
    'p90 µs',
    'p99 µs',
    'errors',
    'vs baseline (req/s, p50)',
    'srv CPU',
    'srv CPU µs/req',
    'gen CPU',
    'other CPU',
    'srv RSS MB before→after (peak)',
  ];
  const right = [false, true, true, true, true, true, true, false, true, true, true, true, false];
  const lines = rows.map((row) => {
    const r = row.result;
    const errors = row.errors === 0 ? '0' : `${row.errors} FAIL`;
    const ratio = row.vsBaseline
      ? `${row.vsBaseline.rps.toFixed(2)}×, ${row.vsBaseline.p50.toFixed(2)}×`
      : row.scenario.server === 'baseline'
        ? '(floor)'
        : '—';
    const noisy = row.server.otherCpuShare !== null && row.server.otherCpuShare > NOISY_SHARE;
    const flags = [r.capped ? 'capped' : '', r.stalled ? 'STALLED' : '', noisy ? 'noisy' : ''].filter(Boolean).join(' ');
    return [
      `${row.scenario.label} ${row.scenario.transport}${flags ? ` [${flags}]` : ''}`,
      String(row.scenario.concurrency),
      int(r.requestsPerSecond),
      String(r.latency.p50Us),
      String(r.latency.p90Us),
      String(r.latency.p99Us),
      errors,
      ratio,
      pct(row.server.cpuShare),
      cpuPerRequest(row),
      pct(r.loadgenCpuShare),
      pct(row.server.otherCpuShare),
      `${mb(row.server.rssBeforeKb)}→${mb(row.server.rssAfterKb)} (${mb(row.server.rssPeakSampledKb)})`,
    ];
  });
  const widths = header.map((title, column) => Math.max(title.length, ...lines.map((line) => line[column].length)));
  const render = (cells: string[]) => cells.map((cell, column) => pad(cell, widths[column], right[column])).join('  ');
  return [render(header), widths.map((width) => '-'.repeat(width)).join('  '), ...lines.map(render)].join('\n');
}

export function formatReport(report: BenchReport): string {
  const m = report.machine;
  const out: string[] = [];
  out.push('');
  out.push(`keybridge bench — ${report.date}`);
  out.push(
    `${m.cpuCount} × ${m.cpuModel}, ${m.totalMemMb} MB, ${m.platform} ${m.release} ${m.arch}, node ${m.node}, keybridge ${m.keybridge}`,
  );
  out.push(
    `window: ${report.config.warmupSeconds} s warm-up + ${report.config.measureSeconds} s measured per row; ` +
      `pinning: ${report.config.pinning}; agent access log: ${report.config.agentLog}` +
      (String(report.config.keybridgeBin).startsWith('bin/') ? '' : `; keybridge from ${report.config.keybridgeBin}`) +
      (report.config.cpuProfile ? '; PROFILED (--cpu-prof: numbers are lower than normal)' : ''),
  );
  out.push('');
  out.push(formatTable(report.rows));
  out.push('');
  out.push(
    'srv / gen / other CPU: CPU time of the server / the load generator / every other process during the measured window (100% = one core).',
  );
  out.push(
    'srv CPU µs/req: server CPU time ÷ requests in the window (10 ms tick resolution); the least noise-sensitive column for A/B comparisons.',
  );
  out.push('vs baseline: agent req/s ÷ baseline req/s, agent p50 ÷ baseline p50, same transport and connections.');
  for (const processInfo of report.agentMemory.processes) {
    out.push(
      `agent ${processInfo.listen} (pid ${processInfo.pid}): RSS idle with warm cache ${mb(processInfo.rssIdleKb)} MB, ` +
        `after load ${mb(processInfo.rssEndKb)} MB, peak (VmHWM) ${mb(processInfo.hwmKb)} MB`,
    );
  }
  const threadLines = report.rows
    .filter((row) => row.scenario.server === 'agent' && Object.keys(row.server.threadCpuMs).length > 0)
    .map((row) => {
      const parts = Object.entries(row.server.threadCpuMs)
        .sort((a, b) => b[1] - a[1])
        .slice(0, 4)
        .map(([name, ms]) => `${name} ${ms}`);
      return `  ${row.scenario.id}: ${parts.join(', ')}`;
    });
  if (threadLines.length > 0) {
    out.push('agent CPU ms by thread during each window (main thread = "node"; others: V8 GC/compiler helpers, libuv pool):');
    out.push(...threadLines);
  }
  out.push('');
  out.push('Targets (from the issue; reported, never enforced):');
  for (const check of report.targets) {
    const row = report.rows.find((item) => item.scenario.id === check.scenarioId);
    const measured =
      !row || row.result.completed === 0
        ? 'no data (the row failed)'
        : check.unit === 'req/s'
          ? `${int(check.measured)} req/s`
          : `${check.measured} µs`;
    out.push(`  ${check.pass ? '[PASS]' : '[FAIL]'} ${check.description} — measured ${measured}`);
  }
  for (const note of report.notes) out.push(`note: ${note}`);
  if (report.problems.length > 0) {
    out.push('');
    out.push('PROBLEMS (the run is not valid):');
    for (const problem of report.problems) out.push(`  - ${problem}`);
  }
  out.push('');
  return out.join('\n');
}

/** Writes latest.json and <timestamp>.json; returns their paths. */
export function writeReport(report: BenchReport): string[] {
  mkdirSync(RESULTS_DIR, { recursive: true });
  // ISO 8601 basic-ish: colons are awkward in file names on some systems.
  const stamp = report.date.replace(/:/g, '-').replace(/\.\d+Z$/, 'Z');
  const text = `${JSON.stringify(report, null, 2)}\n`;
  const paths = [join(RESULTS_DIR, 'latest.json'), join(RESULTS_DIR, `${stamp}.json`)];
  for (const path of paths) writeFileSync(path, text);
  return paths;
}
