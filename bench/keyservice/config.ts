/**
 * The knobs of the key-service bench, read from the environment (all optional):
 *
 *   BENCH_KEYSERVICE_ONLY=cert,reads,storm,scale   sections to run (default: all four)
 *   BENCH_KEYSERVICE_SECONDS=3               measured seconds per throughput/latency row
 *   BENCH_KEYSERVICE_CERT_RUNS=20            certificate generations timed
 *   BENCH_KEYSERVICE_READ_SECRETS=1000       secrets stored (through KeyService.put) for "reads"
 *   BENCH_SECRETS=1000000                    secrets in the large store of "scale" (bulk-loaded)
 *   BENCH_KEYSERVICE_BACKENDS=sqlite,postgres  storage backends for "reads", "storm" and "scale"
 *   BENCH_KEYSERVICE_STORM=200               wrong-password registrations of the "storm"
 *
 * `runKeyServiceBench(options)` takes the same settings as an object; environment values are
 * only the defaults main.ts passes.
 */
export type Section = 'cert' | 'reads' | 'storm' | 'scale';
export type Backend = 'sqlite' | 'postgres';

export const SECTIONS: readonly Section[] = ['cert', 'reads', 'storm', 'scale'];
export const BACKENDS: readonly Backend[] = ['sqlite', 'postgres'];

export interface KeyServiceBenchOptions {
  sections: Section[];
  backends: Backend[];
  /** Measured seconds per row (warm-up is a tenth of it, at least 0.2 s). */
  seconds: number;
  certRuns: number;
  readSecrets: number;
  /** Wrong-password registrations sent by the storm section. */
  stormAttempts: number;
  /** Secrets in the small and the large store of the scale section. */
  scaleSmall: number;
  scaleLarge: number;
  /** Progress lines (default: stderr). */
  log: (line: string) => void;
}

export const DEFAULTS: KeyServiceBenchOptions = {
  sections: [...SECTIONS],
  backends: [...BACKENDS],
  seconds: 3,
  certRuns: 20,
  readSecrets: 1000,
  stormAttempts: 200,
  scaleSmall: 1000,
  scaleLarge: 1_000_000,
  log: (line) => process.stderr.write(`${line}\n`),
};

function positiveInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw.replace(/[_,]/g, ''));
  if (!Number.isSafeInteger(value) || value < 1) throw new Error(`${name} must be a positive integer, not "${raw}"`);
  return value;
}

function positiveNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, not "${raw}"`);
  return value;
}

function list<T extends string>(name: string, allowed: readonly T[]): T[] {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return [...allowed];
  const picked = raw
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean);
  for (const part of picked) {
    if (!(allowed as readonly string[]).includes(part)) throw new Error(`${name}: "${part}" is not one of ${allowed.join(', ')}`);
  }
  return allowed.filter((item) => picked.includes(item));
}

/** The options the environment asks for. */
export function optionsFromEnv(): KeyServiceBenchOptions {
  return {
    ...DEFAULTS,
    sections: list('BENCH_KEYSERVICE_ONLY', SECTIONS),
    backends: list('BENCH_KEYSERVICE_BACKENDS', BACKENDS),
    seconds: positiveNumber('BENCH_KEYSERVICE_SECONDS', DEFAULTS.seconds),
    certRuns: positiveInt('BENCH_KEYSERVICE_CERT_RUNS', DEFAULTS.certRuns),
    readSecrets: positiveInt('BENCH_KEYSERVICE_READ_SECRETS', DEFAULTS.readSecrets),
    stormAttempts: positiveInt('BENCH_KEYSERVICE_STORM', DEFAULTS.stormAttempts),
    scaleLarge: positiveInt('BENCH_SECRETS', DEFAULTS.scaleLarge),
  };
}
