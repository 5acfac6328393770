import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  closeCallers,
  fillVault,
  percentile,
  readableKey,
  startListingLoad,
  timeReads,
  type AgentAddress,
} from '../../test-helpers/listing-load.ts';
import { startUpProcess, type UpProcess } from '../../test-helpers/up-process.ts';

/**
 * Issue 13, finding 8, against a real `keybridge up` process: with 5,000 keys, 10 listings
 * at once used to push a cached keys/get from 2 ms to 483 ms (every name unsealed on the
 * event loop, per listing). The bounds here are generous on purpose, for a shared 2-core
 * machine where the listing process itself takes CPU from the agent: the loaded median under
 * ten times the idle one (a stall fails it at once), and the p99 under 20 ms or fifteen times the
 * idle p99 of the same run where the machine is too busy for 20 ms even without listings.
 * Every listing page also asks the key service whoami (a revoked certificate lists nothing),
 * which on `keybridge up` costs the shared event loop ~2 ms a page. The exact figures are
 * `npm run bench` (bench/listing-load.ts).
 */
const KEYS = 5_000;
let home: string;
let up: UpProcess;
let agent: AgentAddress;

beforeAll(async () => {
  // On tmpfs where there is one: the key service fsyncs every write, and 5,000 fsyncs on a
  // shared disk would be most of this test.
  home = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'kb-listing-'));
  up = await startUpProcess(home);
  agent = { url: up.url, token: readFileSync(join(home, 'agent.token'), 'utf8').trim() };
  await fillVault(agent, KEYS);
}, 240_000);

afterAll(async () => {
  closeCallers();
  await up?.stop();
  if (home) rmSync(home, { recursive: true, force: true });
});

describe('listing 5,000 keys does not stall reads', () => {
  it('keeps keys/get p99 under 20 ms while 10 listings (2 with the status table) run', async () => {
    const wrappingKey = await readableKey(agent, 'reader/key');
    // The same reads without listings first: the bound below grows with what this machine
    // gives an idle agent.
    const idle = await timeReads(agent, 'reader/key', wrappingKey, 2_000);
    const load = startListingLoad(agent, 10, 2);
    // Let the listings start before timing.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const loaded = await timeReads(agent, 'reader/key', wrappingKey, 5_000);
    const counts = await load.stop();

    expect(counts.errors).toBe(0);
    expect(counts.keysSeen).toBe(KEYS + 1);
    expect(counts.listings).toBeGreaterThan(10);
    expect(counts.statuses).toBeGreaterThan(2);
    expect(loaded.length).toBeGreaterThan(100);
    const p99 = percentile(loaded, 99);
    const idleP99 = percentile(idle, 99);
    console.log(
      `keys/get p50 / p99 in ms: idle ${percentile(idle, 50).toFixed(2)} / ${idleP99.toFixed(2)} (${idle.length} reads); ` +
        `under 10 listings ${percentile(loaded, 50).toFixed(2)} / ${p99.toFixed(2)} (${loaded.length} reads); ` +
        `${counts.listings} full listings of ${counts.keysSeen} keys, ${counts.statuses} status tables`,
    );
    // The median catches a stall whatever the machine (before the fix: 760-870 ms against an idle
    // 1-2 ms); the p99 bound is the 20 ms, widened on a machine busy enough to miss it idle.
    expect(percentile(loaded, 50)).toBeLessThan(Math.max(10, 10 * percentile(idle, 50)));
    expect(p99).toBeLessThan(Math.max(20, 15 * idleP99));
  }, 120_000);
});
