/** What other scripts import: `runKeyServiceBench(options)` → `{ rows, text, report }`. */
export { runKeyServiceBench, type KeyServiceBenchResult } from './run-bench.ts';
export { DEFAULTS, optionsFromEnv, type KeyServiceBenchOptions } from './config.ts';
export { writeReport, type BenchRow, type KeyServiceReport } from './report.ts';
