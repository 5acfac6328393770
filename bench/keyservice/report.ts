import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { VERSION } from '../../sidecar/src/version.ts';
import type { Backend, KeyServiceBenchOptions, Section } from './config.ts';

/**
 * The key-service bench's rows, its text table and its JSON files
 * (bench/results/keyservice-latest.json and keyservice-<timestamp>.json).
 */
export interface Target {
  /** What was compared, e.g. "p90 < 300 ms". */
  text: string;
  pass: boolean;
}

export interface BenchRow {
  section: Section;
  /** Stable id for comparing runs, e.g. `reads-sqlite-get-c16`. */
  id: string;
  label: string;
  backend?: Backend;
  concurrency?: number;
  /** Operations timed. */
  count: number;
  opsPerSec?: number;
  p50Us: number;
  p90Us?: number;
  p99Us?: number;
  target?: Target;
  note?: string;
  /** Anything else worth keeping in the JSON (fill times, counts, ratios). */
  extra?: Record<string, number | string>;
}

export interface KeyServiceReport {
  schema: 'keybridge-bench-keyservice/1';
  date: string;
  machine: Record<string, unknown>;
  config: Omit<KeyServiceBenchOptions, 'log'>;
  rows: BenchRow[];
  problems: string[];
}

export function machineInfo(): Record<string, unknown> {
  return {
    platform: process.platform,
    release: release(),
    arch: process.arch,
    cpuModel: cpus()[0]?.model?.trim(),
    cpuCount: cpus().length,
    totalMemMb: Math.round(totalmem() / 2 ** 20),
    loadAvgAtStart: loadavg().map((value) => Math.round(value * 100) / 100),
    node: process.version,
    keybridge: VERSION,
  };
}

/** 850 µs, 1.23 ms, 123 ms. */
export function formatUs(us: number | undefined): string {
  if (us === undefined || Number.isNaN(us)) return '';
  if (us < 1000) return `${us < 10 ? us.toFixed(1) : Math.round(us)} µs`;
  if (us < 100_000) return `${(us / 1000).toFixed(2)} ms`;
  return `${Math.round(us / 1000)} ms`;
}

function formatCount(value: number | undefined): string {
  if (value === undefined) return '';
  return value.toLocaleString('en-US');
}

const SECTION_TITLES: Record<Section, string> = {
  cert: 'Certificates: RSA-2048 key pair + CSR + CA-signed client certificate (issue "Certificates")',
  reads: 'Uncached reads through the key service, SoftHSM root key (issue "HSM sealing … PostgreSQL")',
  storm: 'Uncached reads over mTLS during a register storm of wrong passwords (issue 13, finding 5)',
  scale: 'Read latency, small vs large store (KeyService.get, c1, random keys)',
};

export function formatTable(report: KeyServiceReport, notes: string[]): string {
  const header = ['row', 'n', 'ops/s', 'p50', 'p90', 'p99', 'target'];
  const out: string[] = [];
  const load = (key: string): string => ((report.machine[key] as number[] | undefined) ?? []).join(' ');
  out.push(
    `keybridge key-service bench, ${report.date}, ${report.machine.cpuCount}× ${report.machine.cpuModel}, node ${report.machine.node}`,
  );
  out.push(`load average at start ${load('loadAvgAtStart')}, at end ${load('loadAvgAtEnd')} (anything else running skews these numbers)`);
  for (const section of report.config.sections) {
    const rows = report.rows.filter((row) => row.section === section);
    if (rows.length === 0) continue;
    out.push('', SECTION_TITLES[section]);
    const cells = rows.map((row) => [
      row.label,
      formatCount(row.count),
      formatCount(row.opsPerSec),
      formatUs(row.p50Us),
      formatUs(row.p90Us),
      formatUs(row.p99Us),
      row.target ? `${row.target.pass ? 'PASS' : 'FAIL'} ${row.target.text}` : '',
    ]);
    const widths = header.map((title, column) => Math.max(title.length, ...cells.map((line) => line[column].length)));
    const line = (values: string[]): string =>
      values
        .map((value, column) =>
          column === 0 || column === values.length - 1 ? value.padEnd(widths[column]) : value.padStart(widths[column]),
        )
        .join('  ')
        .trimEnd();
    out.push(`  ${line(header)}`);
    for (const [index, values] of cells.entries()) {
      out.push(`  ${line(values)}`);
      if (rows[index].note) out.push(`    ${rows[index].note}`);
    }
  }
  if (notes.length) out.push('', ...notes.map((note) => `* ${note}`));
  if (report.problems.length) {
    out.push('', 'PROBLEMS (these rows are missing or invalid):');
    for (const problem of report.problems) out.push(`  - ${problem}`);
  }
  out.push('');
  return out.join('\n');
}

const RESULTS_DIR = fileURLToPath(new URL('../results/', import.meta.url));

/** Writes keyservice-latest.json and keyservice-<timestamp>.json (colons as dashes, as bench/report.ts); returns the paths. */
export function writeReport(report: KeyServiceReport): string[] {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const stamp = report.date.replace(/:/g, '-').replace(/\.\d+Z$/, 'Z');
  const text = `${JSON.stringify(report, null, 2)}\n`;
  const paths = [join(RESULTS_DIR, 'keyservice-latest.json'), join(RESULTS_DIR, `keyservice-${stamp}.json`)];
  for (const path of paths) writeFileSync(path, text);
  return paths;
}
