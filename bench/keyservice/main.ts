/**
 * `npx tsx bench/keyservice/main.ts`: the key-service bench (certificates, uncached reads with
 * a SoftHSM root key on SQLite and PostgreSQL, read latency with 1,000 vs 1,000,000 secrets).
 * Prints the table on stdout (progress on stderr), writes bench/results/keyservice-latest.json
 * and keyservice-<timestamp>.json. Settings: see config.ts. Exits 1 only when a section broke,
 * never for a missed target.
 */
import { optionsFromEnv } from './config.ts';
import { writeReport } from './report.ts';
import { runKeyServiceBench } from './run-bench.ts';

const { text, report } = await runKeyServiceBench(optionsFromEnv());
process.stdout.write(text);
for (const path of writeReport(report)) process.stdout.write(`wrote ${path}\n`);
process.exitCode = report.problems.length ? 1 : 0;
