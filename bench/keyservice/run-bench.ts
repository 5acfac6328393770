import { loadavg } from 'node:os';
import { Cleanup, withSignalCleanup } from './cleanup.ts';
import { DEFAULTS, type Backend, type KeyServiceBenchOptions, type Section } from './config.ts';
import { Fixtures } from './fixtures.ts';
import { formatTable, machineInfo, type BenchRow, type KeyServiceReport } from './report.ts';
import { certSection } from './section-cert.ts';
import { readsSection } from './section-reads.ts';
import { scaleSection } from './section-scale.ts';
import { stormSection } from './section-storm.ts';

/**
 * The key-service bench as a function: runs the chosen sections, undoes everything it
 * started (also on an error or SIGINT), and returns the rows, the printed table and the
 * report main.ts writes as JSON. A missed target is a row marked FAIL, never an exception;
 * a section that breaks is reported in `problems` and the others still run.
 */
export interface KeyServiceBenchResult {
  rows: BenchRow[];
  text: string;
  report: KeyServiceReport;
}

export async function runKeyServiceBench(options: Partial<KeyServiceBenchOptions> = {}): Promise<KeyServiceBenchResult> {
  const config: KeyServiceBenchOptions = { ...DEFAULTS, ...options };
  const { log, ...settings } = config;
  const report: KeyServiceReport = {
    schema: 'keybridge-bench-keyservice/1',
    date: new Date().toISOString(),
    machine: machineInfo(),
    config: settings,
    rows: [],
    problems: [],
  };
  const notes: string[] = [];
  const cleanup = new Cleanup(log);

  const attempt = async (what: string, body: (scope: Cleanup) => Promise<{ rows: BenchRow[]; notes: string[] }>): Promise<void> => {
    const scope = cleanup.scope(what);
    try {
      const result = await body(scope.cleanup);
      report.rows.push(...result.rows);
      notes.push(...result.notes);
    } catch (error) {
      const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
      log(`${what}: FAILED: ${message}`);
      report.problems.push(`${what}: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      await scope.close();
    }
  };

  await withSignalCleanup(cleanup, log, async () => {
    try {
      const fixtures = new Fixtures(cleanup);
      const has = (section: Section): boolean => config.sections.includes(section);
      if (has('cert')) {
        await attempt('cert', async () => {
          log('cert: making the CA (RSA-3072, not timed) …');
          const ca = fixtures.ca();
          log(`cert: ${config.certRuns} certificates …`);
          return certSection(ca, config.certRuns);
        });
      }
      for (const backend of config.backends) {
        if (has('reads'))
          await attempt(`reads/${backend}`, (scope) => readsSection(backend, config, fixtures, scope, backend === 'sqlite'));
      }
      for (const backend of config.backends) {
        if (has('storm')) await attempt(`storm/${backend}`, (scope) => stormSection(backend, config, fixtures, scope));
      }
      for (const backend of config.backends) {
        if (has('scale')) await attempt(`scale/${backend}`, (scope) => scaleSection(backend, config, fixtures, scope));
      }
    } finally {
      log('cleaning up …');
      await cleanup.run();
    }
  });

  report.machine.loadAvgAtEnd = loadavg().map((value) => Math.round(value * 100) / 100);
  const order: Backend[] = ['sqlite', 'postgres'];
  report.rows.sort(
    (a, b) =>
      config.sections.indexOf(a.section) - config.sections.indexOf(b.section) ||
      order.indexOf(a.backend ?? 'sqlite') - order.indexOf(b.backend ?? 'sqlite'),
  );
  return { rows: report.rows, text: formatTable(report, notes), report };
}
