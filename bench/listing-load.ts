/**
 * `npm run bench:listing` (also the last part of `npm run bench`): do listings of a big vault
 * stall reads? Issue 13, finding 8: with 5,000 keys, 10 parallel GET /v1/keys took a cached
 * keys/get from a 2 ms median to 483 ms (every name unsealed on the event loop, per listing).
 *
 * One `keybridge up` (its home on tmpfs when there is one: the key service fsyncs every
 * write), BENCH_LISTING_KEYS keys (default 5,000) stored through /v1/import/lockr, then the
 * same cached keys/get one after another in three windows of BENCH_SECONDS: alone (the
 * baseline of this run), under 10 listing loops, under 10 listing loops of which 2 also ask
 * for /v1/status. The listings run in another process (sidecar/test-helpers/
 * listing-load-child.ts) and page through the whole vault (1,000 keys a page).
 *
 * BENCH_KEYBRIDGE_BIN=/other/checkout/bin/keybridge.js measures another tree that has the
 * local API's proofs (the load speaks only those; the figures before paging in bench/README.md
 * were taken with bearer tokens, before the proofs).
 * Prints a table; writes bench/results/listing-load-latest.json and a timestamped copy.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  closeCallers,
  fillVault,
  percentile,
  readableKey,
  startListingLoad,
  timeReads,
  type ListingCounts,
} from '../sidecar/test-helpers/listing-load.ts';
import { startAgent } from './agent-process.ts';
import { cleanup, installCleanupHandlers, REPO_ROOT } from './processes.ts';

interface Row {
  id: string;
  what: string;
  reads: number;
  p50: number;
  p99: number;
  max: number;
  agentCpuPercent: number;
  listing: ListingCounts | null;
}

const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const keys = Number(process.env.BENCH_LISTING_KEYS ?? 5_000);
const bin = process.env.BENCH_KEYBRIDGE_BIN || null;

function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

async function main(): Promise<void> {
  installCleanupHandlers();
  const home = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'kb-bench-listing-'));
  try {
    const agent = await startAgent({ home, listen: '127.0.0.1:0', bin, log: 'null' });
    const address = { url: agent.url, token: agent.auth.token };
    const filling = performance.now();
    await fillVault(address, keys);
    console.log(`${keys} keys stored in ${((performance.now() - filling) / 1000).toFixed(1)} s`);
    const wrappingKey = await readableKey(address, 'reader/key');
    await timeReads(address, 'reader/key', wrappingKey, 1_000); // warm-up

    const rows: Row[] = [];
    const windows: [string, string, number, number][] = [
      ['alone', 'keys/get alone (baseline)', 0, 0],
      ['listings', 'keys/get under 10 listings', 10, 0],
      ['listings-status', 'keys/get under 10 listings, 2 with /v1/status', 10, 2],
    ];
    for (const [id, what, loops, statusLoops] of windows) {
      const load = loops > 0 ? startListingLoad(address, loops, statusLoops) : null;
      if (load) await new Promise((resolve) => setTimeout(resolve, 1_000));
      const cpuBefore = cpuMs(agent.pid);
      const started = performance.now();
      const latencies = await timeReads(address, 'reader/key', wrappingKey, seconds * 1_000);
      const agentCpuPercent = ((cpuMs(agent.pid) - cpuBefore) / (performance.now() - started)) * 100;
      const listing = load ? await load.stop() : null;
      rows.push({
        id,
        what,
        reads: latencies.length,
        p50: percentile(latencies, 50),
        p99: percentile(latencies, 99),
        max: Math.max(...latencies),
        agentCpuPercent,
        listing,
      });
    }
    closeCallers();
    await agent.stop();

    const header = ['row', 'reads', 'p50 ms', 'p99 ms', 'max ms', 'agent CPU', 'full listings', 'errors'];
    const lines = rows.map((row) => [
      row.what,
      String(row.reads),
      row.p50.toFixed(2),
      row.p99.toFixed(2),
      row.max.toFixed(1),
      `${row.agentCpuPercent.toFixed(0)}%`,
      row.listing ? String(row.listing.listings) : '-',
      row.listing ? String(row.listing.errors) : '-',
    ]);
    const widths = header.map((title, column) => Math.max(title.length, ...lines.map((line) => line[column].length)));
    const print = (cells: string[]) => console.log(cells.map((cell, column) => cell.padEnd(widths[column])).join('  '));
    console.log(`\nlisting load vs reads (${keys} keys, ${seconds} s a row${bin ? `, ${bin}` : ''})`);
    print(header);
    lines.forEach(print);
    const baseline = rows[0];
    for (const row of rows.slice(1)) {
      console.log(
        `${row.what}: p99 ${(row.p99 / baseline.p99).toFixed(1)}x the baseline; target p99 < 20 ms: ${row.p99 < 20 ? 'met' : 'MISSED'}`,
      );
    }

    const results = join(REPO_ROOT, 'bench', 'results');
    mkdirSync(results, { recursive: true });
    const text = `${JSON.stringify({ at: new Date().toISOString(), keys, seconds, bin, rows }, null, 2)}\n`;
    writeFileSync(join(results, 'listing-load-latest.json'), text);
    writeFileSync(join(results, `listing-load-${new Date().toISOString().replace(/[:.]/g, '-')}.json`), text);
  } finally {
    rmSync(home, { recursive: true, force: true });
    await cleanup();
  }
}

await main();
