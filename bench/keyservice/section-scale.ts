import type { RootKey } from '../../sidecar/src/sealing/root-key.ts';
import { KeyService } from '../../sidecar/src/server/key-service.ts';
import { VERSION } from '../../sidecar/src/version.ts';
import { bulkFillPostgres } from './bulk-postgres.ts';
import type { OpenVault } from './bulk-rows.ts';
import { bulkFillSqlite } from './bulk-sqlite.ts';
import type { Cleanup } from './cleanup.ts';
import type { Backend, KeyServiceBenchOptions } from './config.ts';
import type { Fixtures } from './fixtures.ts';
import { measure, mergeThroughputs, type Throughput } from './measure.ts';
import { formatUs, type BenchRow } from './report.ts';
import { throughputRow } from './rows.ts';
import { BenchSite } from './secrets.ts';
import { openBenchRootKey, openBenchStores, openVault, REGION, type BenchStores } from './stores.ts';

/**
 * Read latency with a small and a large store (target: large p50 ≤ 1.3 × small p50), on one
 * backend. Two fresh stores (two SQLite files, or two databases on the one PostgreSQL), each
 * with its own key service on the SoftHSM root key and one vault: secret 0 goes through
 * `KeyService.put` (which makes the vault and its data key), the rest are bulk-loaded as real
 * sealed records (bulk-*.ts), `scaleSmall` in one and `scaleLarge` in the other.
 *
 * Reads are `KeyService.get(identity, [id])` at c1 on uniformly random keys, plus the SELECT
 * alone (`storage.getSecrets`), which isolates the index lookup from the two commits of a get.
 * The two stores are measured in alternating rounds (small, large, large, small, …) so that
 * drift in the machine's load falls on both alike; each row pools its rounds.
 */
export const SCALE_TARGET_RATIO = 1.3;
const SAMPLE_IDS = 8192;
const ROUNDS = 4;

interface ScaleStore {
  total: number;
  stores: BenchStores;
  service: KeyService;
  vault: OpenVault;
  fillSeconds: number;
}

export async function scaleSection(
  backend: Backend,
  options: Pick<KeyServiceBenchOptions, 'seconds' | 'scaleSmall' | 'scaleLarge' | 'log'>,
  fixtures: Fixtures,
  cleanup: Cleanup,
): Promise<{ rows: BenchRow[]; notes: string[] }> {
  const { seconds, log } = options;
  const site = new BenchSite('bench-scale-site', 'production');
  const at = new Date().toISOString();
  const open = async (name: string, total: number): Promise<ScaleStore> => {
    const stores = await openBenchStores(backend, name, fixtures, cleanup);
    const rootKey: RootKey = await openBenchRootKey(`bench-${backend}`, fixtures, cleanup);
    const service = new KeyService({ storage: stores.storage, rootKey, region: REGION, version: VERSION });
    cleanup.add(`${backend} ${name} key service`, () => service.close());
    await service.put(site.identity, site.request(0));
    const vault = await openVault(stores.storage, rootKey, site.identity);
    cleanup.add(`${name} data key`, () => void vault.dataKey.fill(0));
    log(`scale/${backend}: bulk-loading ${(total - 1).toLocaleString('en-US')} sealed records into the ${name} store …`);
    const fillSeconds = await fill(stores, site, vault, 1, total, at, progress(`scale/${backend}`, total - 1, log));
    return { total, stores, service, vault, fillSeconds };
  };
  const small = await open('scale-small', Math.min(options.scaleSmall, options.scaleLarge));
  const large = await open('scale-large', options.scaleLarge);
  log(
    `scale/${backend}: ${large.total.toLocaleString('en-US')} rows in ${large.fillSeconds.toFixed(1)} s; reads in ${ROUNDS} alternating rounds …`,
  );

  const rounds = {
    small: { get: [] as Throughput[], select: [] as Throughput[] },
    large: { get: [] as Throughput[], select: [] as Throughput[] },
  };
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? (['small', 'large'] as const) : (['large', 'small'] as const);
    for (const which of order) {
      const store = which === 'small' ? small : large;
      rounds[which].get.push(await timedGets(store, site, seconds / ROUNDS));
      rounds[which].select.push(await timedSelects(store, site, Math.max(0.5, seconds / (2 * ROUNDS))));
    }
  }
  const before = { get: mergeThroughputs(rounds.small.get), select: mergeThroughputs(rounds.small.select) };
  const after = { get: mergeThroughputs(rounds.large.get), select: mergeThroughputs(rounds.large.select) };

  const ratio = round2(after.get.latency.p50Us / before.get.latency.p50Us);
  const ratio99 = round2(after.get.latency.p99Us / before.get.latency.p99Us);
  const selectRatio = round2(after.select.latency.p50Us / before.select.latency.p50Us);
  const rate = Math.round((large.total - 1) / large.fillSeconds);
  const label = (n: number, what: string): string => `[${backend}] ${what}, ${n.toLocaleString('en-US')} secrets`;
  const row = (id: string, text: string, result: Throughput, more: Partial<BenchRow> = {}): BenchRow =>
    throughputRow('scale', `scale-${backend}-${id}`, text, result, { backend, ...more });
  const rows: BenchRow[] = [
    row('get-small', label(small.total, 'KeyService.get c1'), before.get, { extra: { secrets: small.total } }),
    row('get-large', label(large.total, 'KeyService.get c1'), after.get, {
      target: { text: `p50 ratio ${ratio} ≤ ${SCALE_TARGET_RATIO}`, pass: ratio <= SCALE_TARGET_RATIO },
      note: `bulk fill of ${(large.total - 1).toLocaleString('en-US')} sealed records: ${large.fillSeconds.toFixed(1)} s (${rate.toLocaleString('en-US')}/s); p99 ratio ${ratio99}`,
      extra: { secrets: large.total, p50Ratio: ratio, p99Ratio: ratio99, fillSeconds: round2(large.fillSeconds), fillRowsPerSec: rate },
    }),
    row('select-small', label(small.total, '  SELECT alone (storage.getSecrets) c1'), before.select, { extra: { secrets: small.total } }),
    row('select-large', label(large.total, '  SELECT alone (storage.getSecrets) c1'), after.select, {
      note: `SELECT p50 ratio ${selectRatio}`,
      extra: { secrets: large.total, p50Ratio: selectRatio },
    }),
  ];
  const notes = [
    `scale/${backend}: ${large.total.toLocaleString('en-US')} vs ${small.total.toLocaleString('en-US')} secrets: get p50 ${formatUs(after.get.latency.p50Us)} vs ${formatUs(before.get.latency.p50Us)} (×${ratio}), ` +
      `the SELECT alone ${formatUs(after.select.latency.p50Us)} vs ${formatUs(before.select.latency.p50Us)} (×${selectRatio}); filled in ${large.fillSeconds.toFixed(1)} s.`,
  ];
  if (large.total < 1_000_000)
    notes.push(
      `scale/${backend}: BENCH_SECRETS set the large store to ${large.total.toLocaleString('en-US')} secrets (default 1,000,000).`,
    );
  return { rows, notes };
}

/** Bulk-loads secrets `from` … `to - 1`; returns the seconds it took. */
async function fill(
  stores: BenchStores,
  site: BenchSite,
  vault: OpenVault,
  from: number,
  to: number,
  at: string,
  onBatch: (done: number) => void,
): Promise<number> {
  if (to <= from) return 0;
  const started = process.hrtime.bigint();
  if (stores.backend === 'sqlite') bulkFillSqlite(stores.where, site, vault, from, to, at, onBatch);
  else await bulkFillPostgres(stores.where, site, vault, from, to, at, onBatch);
  return Number(process.hrtime.bigint() - started) / 1e9;
}

/** Logs the fill's progress every ~10%, with a projection, and says how to shorten a fill that will pass 3 minutes. */
function progress(what: string, total: number, log: (line: string) => void): (done: number) => void {
  const started = Date.now();
  let next = 0.1;
  let warned = false;
  return (done) => {
    if (total < 100_000 || done / total < next) return;
    next = Math.floor((done / total) * 10 + 1) / 10;
    const seconds = (Date.now() - started) / 1000;
    const projected = (seconds / done) * total;
    log(
      `${what}: ${done.toLocaleString('en-US')} / ${total.toLocaleString('en-US')} rows, ${seconds.toFixed(0)} s (about ${projected.toFixed(0)} s in all)`,
    );
    if (projected > 180 && !warned) {
      warned = true;
      log(
        `${what}: this fill will take over 3 minutes; BENCH_SECRETS=${Math.floor((total * 180) / projected / 10_000) * 10_000 || 10_000} would keep it near 3`,
      );
    }
  };
}

function timedGets(store: ScaleStore, site: BenchSite, seconds: number): Promise<Throughput> {
  const ids = site.randomKeyIds(store.total, SAMPLE_IDS);
  return measure(
    async (i) => {
      const [secret] = await store.service.get(site.identity, [ids[i % ids.length]]);
      if (!secret) throw new Error(`scale/${store.stores.backend}: a bulk-loaded secret was not found`);
    },
    { seconds, concurrency: 1 },
  );
}

function timedSelects(store: ScaleStore, site: BenchSite, seconds: number): Promise<Throughput> {
  const ids = site.randomKeyIds(store.total, SAMPLE_IDS);
  return measure(
    async (i) => {
      const found = await store.stores.storage.getSecrets(store.vault.vaultId, [ids[i % ids.length]]);
      if (found.size !== 1) throw new Error(`scale/${store.stores.backend}: getSecrets found nothing`);
    },
    { seconds, concurrency: 1 },
  );
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}
