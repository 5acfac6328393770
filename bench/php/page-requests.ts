/**
 * The secret read as a page pays for it: real front-end requests over HTTP to the fixture's
 * WordPress (php -S, APCu and OPcache on), each timing inside itself — at template_redirect,
 * WordPress fully loaded — the plain SELECT of a non-autoloaded option, its FIRST
 * keybridge_get_key() and a second one (bench/php/page-probe.php, a must-use plugin installed
 * on the bench's own fixture only). Half the requests time the SELECT first, half the read, so
 * neither always runs on the colder caches. p50 over BENCH_PHP_PAGES requests (default 400,
 * at least 300) after BENCH_PHP_PAGE_WARMUP untimed ones (default 60).
 *
 * DESIGN.md "Performance budget": first warm read ≤ 0.1× the SELECT of the same request,
 * later reads ≤ 0.05×. As many requests again time, in the read's place, the floor of any such
 * read (bench/php/page-floor.php: one plugin function, one apcu_fetch(), one AES-GCM open with
 * the key in hand), so the table shows how much of the first read is keybridge's own, and
 * again get_option() of a protected option as a page's first keybridge read. The
 * key's ciphertext is in APCu for the agent's cache TTL (30 s), so about one request in every
 * 30 s pays a cold read: p50 is the warm figure.
 */
import { execFile } from 'node:child_process';
import { cpSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { WordPressEnv } from '../../fixtures/wordpress/wordpress.ts';

const HERE = fileURLToPath(new URL('.', import.meta.url));

export const PAGE_TARGETS = { first: 0.1, second: 0.05 } as const;

export interface PageStats {
  n: number;
  p50_us: number;
  p90_us: number;
  p99_us: number;
}

export interface PageReport {
  requests: number;
  rows: {
    select: PageStats;
    first: PageStats;
    second: PageStats;
    attribution: PageStats;
    usage_end: PageStats;
    plugin_load: PageStats;
    /** get_option() of a protected option as a page's first keybridge read, in requests of its own. */
    protected: PageStats;
    protected_select: PageStats;
    /** The floor, timed in requests of its own (with their own SELECTs, `floor_select`). */
    floor: PageStats;
    floor_select: PageStats;
  };
  /** p50 of the read ÷ p50 of the SELECT, as the budget states it (the floor: of its own requests). */
  ratios: { first: number; second: number; protected: number; floor: number };
  /** The p50 of each request's own read ÷ SELECT (steadier when the machine drifts). */
  per_request_ratio_p50: { first: number; second: number };
}

interface ProbeAnswer {
  order: string;
  select_us: number;
  first_us: number;
  second_us: number;
  attribution_us: number;
  usage_end_us: number;
  plugin_load_us: number | null;
  ok: boolean;
}

/** A request that times one read alone (`&alone=floor` or `&alone=protected`). */
interface AloneAnswer {
  order: string;
  select_us: number;
  read_us: number;
  read: boolean;
  ok: boolean;
}

function stats(values: number[]): PageStats {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => Math.round(sorted[Math.floor(q * (sorted.length - 1))] * 10) / 10;
  return { n: sorted.length, p50_us: at(0.5), p90_us: at(0.9), p99_us: at(0.99) };
}

const median = (values: number[]) => stats(values).p50_us;
const round3 = (value: number) => Math.round(value * 1000) / 1000;

async function probe<Answer extends { ok: boolean }>(
  env: WordPressEnv,
  key: string,
  option: string,
  order: string,
  extra = '',
): Promise<Answer> {
  const url = `${env.WP_URL}/?keybridge-bench=page&key=${encodeURIComponent(key)}&option=${encodeURIComponent(option)}&order=${order}${extra}`;
  const response = await fetch(url, { headers: { connection: 'close' } });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`page probe answered HTTP ${response.status}: ${text.slice(0, 200)}`);
  let answer: Answer;
  try {
    answer = JSON.parse(text) as Answer;
  } catch {
    throw new Error(`page probe did not answer JSON (is the probe installed?): ${text.slice(0, 200)}`);
  }
  if (!answer.ok) throw new Error("a page read returned the wrong value (see the fixture's debug.log)");
  return answer;
}

const orderOf = (i: number) => (i % 2 ? 'read-first' : 'select-first');

/** The probe as a must-use plugin, and the load marker activated the way the Plugins screen does it. */
async function installProbe(env: WordPressEnv): Promise<void> {
  const content = join(env.WP_PATH, 'wp-content');
  copyFileSync(join(HERE, 'page-probe.php'), join(content, 'mu-plugins', 'keybridge-bench-page-probe.php'));
  copyFileSync(join(HERE, 'page-floor.php'), join(content, 'mu-plugins', 'keybridge-bench-page-floor.php'));
  cpSync(join(HERE, 'load-marker'), join(content, 'plugins', 'keybridge-bench-load-marker'), { recursive: true });
  await promisify(execFile)(
    'php',
    [join(HERE, '..', '..', 'fixtures', 'wordpress', 'activate-plugin.php'), 'keybridge-bench-load-marker'],
    {
      env: { ...process.env, WP_PATH: env.WP_PATH, WP_URL: env.WP_URL },
    },
  );
}

/** Installs the probe, warms the site up, then times `requests` page requests one after another. */
export async function measurePageRequests(env: WordPressEnv, key: string, option: string): Promise<PageReport> {
  await installProbe(env);
  const requests = Math.max(300, Number(process.env.BENCH_PHP_PAGES ?? 400));
  const warmup = Math.max(0, Number(process.env.BENCH_PHP_PAGE_WARMUP ?? 60));
  for (let i = 0; i < Math.max(2, warmup); i++) {
    await probe<ProbeAnswer>(env, key, option, orderOf(i));
    await probe<AloneAnswer>(env, key, option, orderOf(i), '&alone=floor');
    await probe<AloneAnswer>(env, key, option, orderOf(i), '&alone=protected');
  }
  const answers: ProbeAnswer[] = [];
  const floors: AloneAnswer[] = [];
  const protectedReads: AloneAnswer[] = [];
  // The three kinds of request interleaved, so all meet the same moments of a drifting machine.
  for (let i = 0; i < requests; i++) {
    answers.push(await probe<ProbeAnswer>(env, key, option, orderOf(i)));
    const floor = await probe<AloneAnswer>(env, key, option, orderOf(i), '&alone=floor');
    if (!floor.read) throw new Error('the floor read found nothing in APCu (is APCu on in the fixture?)');
    floors.push(floor);
    protectedReads.push(await probe<AloneAnswer>(env, key, option, orderOf(i), '&alone=protected'));
  }
  const select = answers.map((a) => a.select_us);
  const first = answers.map((a) => a.first_us);
  const second = answers.map((a) => a.second_us);
  const rows = {
    select: stats(select),
    first: stats(first),
    second: stats(second),
    attribution: stats(answers.map((a) => a.attribution_us)),
    usage_end: stats(answers.map((a) => a.usage_end_us)),
    plugin_load: stats(answers.map((a) => a.plugin_load_us ?? 0)),
    protected: stats(protectedReads.map((a) => a.read_us)),
    protected_select: stats(protectedReads.map((a) => a.select_us)),
    floor: stats(floors.map((a) => a.read_us)),
    floor_select: stats(floors.map((a) => a.select_us)),
  };
  return {
    requests,
    rows,
    ratios: {
      first: round3(rows.first.p50_us / rows.select.p50_us),
      second: round3(rows.second.p50_us / rows.select.p50_us),
      protected: round3(rows.protected.p50_us / rows.protected_select.p50_us),
      floor: round3(rows.floor.p50_us / rows.floor_select.p50_us),
    },
    per_request_ratio_p50: {
      first: round3(median(answers.map((a) => a.first_us / a.select_us))),
      second: round3(median(answers.map((a) => a.second_us / a.select_us))),
    },
  };
}

export function formatPageTable(report: PageReport): string {
  const label: Record<string, string> = {
    select: 'plain SELECT of a non-autoloaded option, in the page',
    first: 'first keybridge_get_key() of the page (warm)',
    second: 'second keybridge_get_key() of the same page',
    attribution: 'of which noting a read for its caller',
    usage_end: "at the page's end: its reads counted in APCu",
    plugin_load: 'loading the keybridge plugin (every request)',
    protected: 'get_option() of a protected option, first of its page',
    protected_select: '  (the SELECT of those requests)',
    floor: 'floor: plugin function, apcu_fetch + AES-GCM, key in hand',
    floor_select: '  (the SELECT of those floor requests)',
  };
  const lines = [
    `inside real page requests (${report.requests} requests over HTTP, p50 per row)`,
    `${'row'.padEnd(56)} ${'p50 µs'.padStart(9)} ${'p90 µs'.padStart(9)} ${'× SELECT'.padStart(9)}  target`,
    '-'.repeat(100),
  ];
  for (const [id, row] of Object.entries(report.rows)) {
    const base = id.startsWith('floor')
      ? report.rows.floor_select
      : id.startsWith('protected')
        ? report.rows.protected_select
        : report.rows.select;
    const ratio = row.p50_us / base.p50_us;
    const target = PAGE_TARGETS[id as keyof typeof PAGE_TARGETS];
    const verdict = target === undefined ? '' : `≤ ${target}× ${ratio <= target ? 'met' : 'MISSED'}`;
    lines.push(
      `${label[id].padEnd(56)} ${row.p50_us.toFixed(1).padStart(9)} ${row.p90_us.toFixed(1).padStart(9)} ${ratio.toFixed(3).padStart(9)}  ${verdict}`,
    );
  }
  lines.push(
    `per-request ratio (p50 of each request's read ÷ its SELECT): first ${report.per_request_ratio_p50.first}, second ${report.per_request_ratio_p50.second}`,
  );
  return lines.join('\n');
}
