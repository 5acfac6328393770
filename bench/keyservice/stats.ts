/**
 * Latency samples (collected as numbers of microseconds, sorted once at the end) and their
 * summary. Rows here run at most a few thousand operations per second for a few seconds, so
 * a plain array is small and exact.
 */
export interface LatencySummary {
  count: number;
  meanUs: number;
  p50Us: number;
  p90Us: number;
  p99Us: number;
  maxUs: number;
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index];
}

export function summarize(samplesUs: readonly number[]): LatencySummary {
  const sorted = [...samplesUs].sort((a, b) => a - b);
  const sum = sorted.reduce((total, value) => total + value, 0);
  const round = (value: number): number => Math.round(value * 10) / 10;
  return {
    count: sorted.length,
    meanUs: round(sorted.length ? sum / sorted.length : Number.NaN),
    p50Us: round(percentile(sorted, 50)),
    p90Us: round(percentile(sorted, 90)),
    p99Us: round(percentile(sorted, 99)),
    maxUs: round(sorted.length ? sorted[sorted.length - 1] : Number.NaN),
  };
}

/** Microseconds since `startNs` (from process.hrtime.bigint()). */
export function elapsedUs(startNs: bigint): number {
  return Number(process.hrtime.bigint() - startNs) / 1000;
}
