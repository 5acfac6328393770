/**
 * `npm run bench:php`: what a secret read costs a WordPress page, next to the database read it
 * replaces, measured in one PHP process on a real site (fixtures/wordpress: MariaDB, WordPress,
 * the built plugin, an agent on a unix socket).
 *
 *   1. start the fixture in a temp dir;
 *   2. bench/php/setup.php: register the site, store one key through the plugin, and a plain
 *      non-autoloaded option holding the same value;
 *   3. bench/php/measure.php (APCu on): p50/p99 of the plain SELECT, $wpdb->get_var(), a warm
 *      keybridge_get_key() and a cold one (see measure.php for what each includes);
 *   4. bench/php/page-requests.ts: real page requests over HTTP, each timing its own SELECT,
 *      first and second keybridge_get_key() (the figure a page pays);
 *   5. tables with each row's ratio to the plain SELECT and to a bare round trip (a raw request
 *      on a new unix socket connection to a do-nothing node:http server, bench/baseline-server.ts,
 *      measured in the same run), and the DESIGN.md targets (warm ≤ 0.1× the SELECT, cold ≤
 *      1.3× the bare round trip; in a page: first ≤ 0.1×, later ≤ 0.05×), JSON in
 *      bench/results/php-latest.json and php-<timestamp>.json;
 *   6. stop the fixture and remove its dir, also on failure or Ctrl-C.
 *
 * Settings: BENCH_PHP_ROUNDS (default 5), BENCH_PHP_N (timed calls per row and round, default
 * 1000; the cold row does a quarter), BENCH_PHP_PAGES (page requests, default 400, at least
 * 300), BENCH_PHP_ONLY=page (only the page requests). Exit code 0 when the run is valid
 * (targets missed or not), 1 when something broke. Missing a target is reported, never turned
 * into a failure.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startWordPress, type WordPressFixture } from '../../fixtures/wordpress/wordpress.ts';
import { startBaseline, type BaselineProcess } from '../baseline-process.ts';
import { formatPageTable, measurePageRequests, PAGE_TARGETS, type PageReport } from './page-requests.ts';

const run = promisify(execFile);
const HERE = fileURLToPath(new URL('.', import.meta.url));
const RESULTS_DIR = join(HERE, '..', 'results');
const KEY = 'bench_php_token';
const OPTION = 'bench_php_plain_token';

/** DESIGN.md, "Performance budget": ratios to the plain SELECT (p50)... */
const TARGETS: Record<string, number> = { warm: 0.1, cold: 1.5, persistent: 1.5 };
/** ...and to the bare round trip (p50): no local process beats its own round trip. */
const BARE_TARGETS: Record<string, number> = { cold: 1.3 };
const LABELS: Record<string, string> = {
  select: 'plain SELECT, non-autoloaded option (MariaDB socket, reused)',
  wpdb: 'the same through $wpdb->get_var()',
  warm: 'keybridge_get_key(), warm (APCu + AES-GCM in PHP)',
  cold: 'keybridge_get_key(), cold (new connection, keys.fetch)',
  persistent: 'the same, connection left open by an earlier request',
  agent: "the agent's share of cold: raw keys.fetch on a new socket",
  bare: 'bare round trip: the same request to a do-nothing server',
};

interface Stats {
  n: number;
  p50_us: number;
  p99_us: number;
  mean_us: number;
  min_us: number;
}

function progress(text: string): void {
  process.stderr.write(`bench:php: ${text}\n`);
}

async function php(script: string, env: Record<string, string>, phpArgs: string[] = []): Promise<string> {
  try {
    const { stdout } = await run('php', [...phpArgs, join(HERE, script)], {
      env: { ...process.env, ...env },
      timeout: 600_000,
      maxBuffer: 4 << 20,
    });
    return stdout;
  } catch (error) {
    const { stderr, message } = error as { stderr?: string; message: string };
    throw new Error(`bench/php/${script} failed: ${stderr?.trim() || message}`, { cause: error });
  }
}

function formatTable(rows: Record<string, Stats>): string {
  const base = rows.select.p50_us;
  const bare = rows.bare?.p50_us;
  const lines = [
    `${'row'.padEnd(62)} ${'p50 µs'.padStart(9)} ${'p99 µs'.padStart(9)} ${'× SELECT'.padStart(9)} ${'× bare'.padStart(7)}  target`,
    '-'.repeat(124),
  ];
  for (const [id, stats] of Object.entries(rows)) {
    const ratio = stats.p50_us / base;
    const toBare = bare === undefined ? undefined : stats.p50_us / bare;
    const verdicts = [verdict('SELECT', ratio, TARGETS[id]), toBare === undefined ? '' : verdict('bare', toBare, BARE_TARGETS[id])];
    lines.push(
      `${(LABELS[id] ?? id).padEnd(62)} ${stats.p50_us.toFixed(1).padStart(9)} ${stats.p99_us.toFixed(1).padStart(9)} ${ratio.toFixed(2).padStart(9)} ${(toBare === undefined ? '' : toBare.toFixed(2)).padStart(7)}  ${verdicts.filter(Boolean).join(', ')}`,
    );
  }
  return lines.join('\n');
}

function verdict(what: string, ratio: number, target: number | undefined): string {
  return target === undefined ? '' : `≤ ${target}× ${what} ${ratio <= target ? 'met' : 'MISSED'}`;
}

async function main(): Promise<number> {
  const dir = mkdtempSync(join(os.tmpdir(), 'kb-bench-php-'));
  let fixture: WordPressFixture | undefined;
  let bareServer: BaselineProcess | undefined;
  const stop = async () => {
    const running = fixture;
    fixture = undefined;
    await bareServer?.stop();
    bareServer = undefined;
    await running?.stop({ purge: true });
  };
  process.once('SIGINT', () => void stop().finally(() => process.exit(130)));
  try {
    // Before the fixture starts: its own start-up would count as other work.
    const loadAvgAtStart = os.loadavg().map((value) => Math.round(value * 100) / 100);
    progress(`starting the WordPress fixture in ${dir}`);
    fixture = await startWordPress(dir);
    const bareSocket = join(dir, 'bare.sock');
    bareServer = await startBaseline(bareSocket, null);
    const env = { WP_PATH: fixture.env.WP_PATH, WP_URL: fixture.env.WP_URL, BENCH_KEY: KEY, BENCH_OPTION: OPTION };
    progress('registering the site and storing the key');
    await php('setup.php', env);
    const rounds = process.env.BENCH_PHP_ROUNDS ?? '5';
    const n = process.env.BENCH_PHP_N ?? '1000';
    const onlyPages = process.env.BENCH_PHP_ONLY === 'page';
    let measured: { php: string; rounds: number; rows: Record<string, Stats> } | null = null;
    if (!onlyPages) {
      progress(`measuring (${rounds} rounds of ${n} calls per row)`);
      measured = JSON.parse(
        await php('measure.php', { ...env, BENCH_ROUNDS: rounds, BENCH_N: n, BENCH_BARE_SOCKET: bareSocket }, [
          '-d',
          'apc.enable_cli=1',
          '-d',
          'opcache.enable_cli=1',
        ]),
      ) as { php: string; rounds: number; rows: Record<string, Stats> };
    }
    progress('measuring real page requests over HTTP');
    const pages: PageReport = await measurePageRequests(fixture.env, KEY, OPTION);
    const base = measured?.rows.select.p50_us ?? 1;
    const report = {
      date: new Date().toISOString(),
      machine: {
        cpuModel: os.cpus()[0]?.model ?? 'unknown',
        cpuCount: os.cpus().length,
        loadAvgAtStart,
        node: process.version,
        php: measured?.php ?? null,
      },
      settings: { rounds: Number(rounds), n: Number(n), pages: pages.requests },
      rows: Object.fromEntries(
        Object.entries(measured?.rows ?? {}).map(([id, stats]) => [
          id,
          {
            ...stats,
            label: LABELS[id] ?? id,
            ratio_p50_to_select: Math.round((stats.p50_us / base) * 1000) / 1000,
            target_ratio: TARGETS[id] ?? null,
            ratio_p50_to_bare: measured?.rows.bare ? Math.round((stats.p50_us / measured.rows.bare.p50_us) * 1000) / 1000 : null,
            target_ratio_to_bare: BARE_TARGETS[id] ?? null,
          },
        ]),
      ),
      page_requests: { ...pages, targets: PAGE_TARGETS },
    };
    if (measured) console.log(`${formatTable(measured.rows)}\n`);
    console.log(formatPageTable(pages));
    if (loadAvgAtStart[0] > os.cpus().length * 0.5)
      console.log(`\n(load average ${loadAvgAtStart[0]} at the start: other work was running, rerun for steadier figures)`);
    mkdirSync(RESULTS_DIR, { recursive: true });
    const stamp = report.date.replace(/:/g, '-').replace(/\.\d+Z$/, 'Z');
    const text = `${JSON.stringify(report, null, 2)}\n`;
    for (const file of ['php-latest.json', `php-${stamp}.json`]) writeFileSync(join(RESULTS_DIR, file), text);
    progress(`wrote bench/results/php-latest.json and php-${stamp}.json`);
    return 0;
  } catch (error) {
    console.error(`bench:php: ${(error as Error).message}`);
    return 1;
  } finally {
    await stop();
  }
}

process.exitCode = await main();
