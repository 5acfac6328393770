import type { Backend, Section } from './config.ts';
import type { Throughput } from './measure.ts';
import type { BenchRow } from './report.ts';

/** A table row from one `measure` / `runCount` result. */
export function throughputRow(
  section: Section,
  id: string,
  label: string,
  result: Throughput,
  more: Partial<BenchRow> & { backend?: Backend } = {},
): BenchRow {
  return {
    section,
    id,
    label,
    concurrency: result.concurrency,
    count: result.latency.count,
    opsPerSec: result.opsPerSec,
    p50Us: result.latency.p50Us,
    p90Us: result.latency.p90Us,
    p99Us: result.latency.p99Us,
    ...more,
  };
}
