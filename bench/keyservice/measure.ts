import { elapsedUs, summarize, type LatencySummary } from './stats.ts';

/**
 * Runs `op` in `concurrency` loops for a warm-up, then for `seconds`, each loop starting its
 * next call when the last one settled (closed loop, like one page request after another).
 * `op(i)` gets a running counter so callers can rotate over keys without randomness on the
 * clock. `onMeasure` is told when the measured window (after the warm-up) starts and ends.
 * Any rejection fails the measurement: a bench that counts errors as fast reads lies.
 */
export interface Throughput {
  concurrency: number;
  seconds: number;
  opsPerSec: number;
  latency: LatencySummary;
  /** The raw latencies, for merging rounds (`mergeThroughputs`); not written to the report. */
  samplesUs: number[];
}

/** Several measurements of the same operation as one (samples pooled, time added up). */
export function mergeThroughputs(parts: readonly Throughput[]): Throughput {
  const samplesUs = parts.flatMap((part) => part.samplesUs);
  const seconds = parts.reduce((total, part) => total + part.seconds, 0);
  return {
    concurrency: parts[0]?.concurrency ?? 1,
    seconds: Math.round(seconds * 100) / 100,
    opsPerSec: Math.round(samplesUs.length / seconds),
    latency: summarize(samplesUs),
    samplesUs,
  };
}

export async function measure(
  op: (i: number) => Promise<unknown>,
  options: { seconds: number; concurrency: number; onMeasure?: (phase: 'start' | 'end') => void },
): Promise<Throughput> {
  let counter = 0;
  const warmup = Math.max(0.2, options.seconds / 10);
  await loop(op, options.concurrency, warmup, () => counter++, null);
  options.onMeasure?.('start');
  const samples: number[] = [];
  const started = process.hrtime.bigint();
  await loop(op, options.concurrency, options.seconds, () => counter++, samples);
  const seconds = elapsedUs(started) / 1e6;
  options.onMeasure?.('end');
  return {
    concurrency: options.concurrency,
    seconds: Math.round(seconds * 100) / 100,
    opsPerSec: Math.round(samples.length / seconds),
    latency: summarize(samples),
    samplesUs: samples,
  };
}

async function loop(
  op: (i: number) => Promise<unknown>,
  concurrency: number,
  seconds: number,
  next: () => number,
  samples: number[] | null,
): Promise<void> {
  const deadline = process.hrtime.bigint() + BigInt(Math.round(seconds * 1e9));
  const worker = async (): Promise<void> => {
    while (process.hrtime.bigint() < deadline) {
      const start = process.hrtime.bigint();
      await op(next());
      samples?.push(elapsedUs(start));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

/** Times `op` exactly `runs` times, one after the other (for slow operations such as key generation). */
export async function timeRuns<T>(runs: number, op: () => Promise<T>): Promise<{ samplesUs: number[]; results: T[] }> {
  const samplesUs: number[] = [];
  const results: T[] = [];
  for (let run = 0; run < runs; run++) {
    const start = process.hrtime.bigint();
    results.push(await op());
    samplesUs.push(elapsedUs(start));
  }
  return { samplesUs, results };
}

/** Runs `op(0)` … `op(count - 1)` with `concurrency` loops pulling the next index; timed like `measure`. */
export async function runCount(op: (i: number) => Promise<unknown>, count: number, concurrency: number): Promise<Throughput> {
  let next = 0;
  const samples: number[] = [];
  const started = process.hrtime.bigint();
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next++;
      const start = process.hrtime.bigint();
      await op(i);
      samples.push(elapsedUs(start));
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  const seconds = elapsedUs(started) / 1e6;
  return {
    concurrency,
    seconds: Math.round(seconds * 100) / 100,
    opsPerSec: Math.round(count / seconds),
    latency: summarize(samples),
    samplesUs: samples,
  };
}
