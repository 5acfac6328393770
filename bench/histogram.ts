/**
 * A fixed-size latency histogram, allocated once before load starts so recording a sample
 * costs one array increment (no allocation, no sorting while the clock runs).
 *
 * Buckets: 1 µs wide from 0 to 20 ms, then 100 µs wide up to 1 s, then one overflow bucket.
 * The exact maximum and the sum are kept alongside, so max and mean are exact.
 */

const FINE_LIMIT_US = 20_000;
const COARSE_STEP_US = 100;
const COARSE_LIMIT_US = 1_000_000;
const FINE_BUCKETS = FINE_LIMIT_US;
const COARSE_BUCKETS = (COARSE_LIMIT_US - FINE_LIMIT_US) / COARSE_STEP_US;
const BUCKETS = FINE_BUCKETS + COARSE_BUCKETS + 1;

export interface LatencySummary {
  count: number;
  minUs: number;
  meanUs: number;
  p50Us: number;
  p90Us: number;
  p99Us: number;
  p999Us: number;
  maxUs: number;
}

export class LatencyHistogram {
  private readonly counts = new Uint32Array(BUCKETS);
  private total = 0;
  private sumNs = 0;
  private minNs = Number.POSITIVE_INFINITY;
  private maxNs = 0;

  /** Records one latency given in nanoseconds. */
  record(ns: number): void {
    const us = Math.floor(ns / 1000);
    let index: number;
    if (us < FINE_LIMIT_US) index = us;
    else if (us < COARSE_LIMIT_US) index = FINE_BUCKETS + Math.floor((us - FINE_LIMIT_US) / COARSE_STEP_US);
    else index = BUCKETS - 1;
    this.counts[index]++;
    this.total++;
    this.sumNs += ns;
    if (ns < this.minNs) this.minNs = ns;
    if (ns > this.maxNs) this.maxNs = ns;
  }

  reset(): void {
    this.counts.fill(0);
    this.total = 0;
    this.sumNs = 0;
    this.minNs = Number.POSITIVE_INFINITY;
    this.maxNs = 0;
  }

  get count(): number {
    return this.total;
  }

  /** The latency (µs, bucket lower bound) below which `q` of the samples fall. */
  quantileUs(q: number): number {
    if (this.total === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * this.total));
    let seen = 0;
    for (let index = 0; index < BUCKETS; index++) {
      seen += this.counts[index];
      if (seen >= rank) {
        if (index < FINE_BUCKETS) return index;
        if (index < BUCKETS - 1) return FINE_LIMIT_US + (index - FINE_BUCKETS) * COARSE_STEP_US;
        return Math.floor(this.maxNs / 1000);
      }
    }
    return Math.floor(this.maxNs / 1000);
  }

  summary(): LatencySummary {
    const empty = this.total === 0;
    return {
      count: this.total,
      minUs: empty ? 0 : round1(this.minNs / 1000),
      meanUs: empty ? 0 : round1(this.sumNs / this.total / 1000),
      p50Us: this.quantileUs(0.5),
      p90Us: this.quantileUs(0.9),
      p99Us: this.quantileUs(0.99),
      p999Us: this.quantileUs(0.999),
      maxUs: empty ? 0 : round1(this.maxNs / 1000),
    };
  }
}

function round1(value: number): number {
  return Math.round(value * 10) / 10;
}
