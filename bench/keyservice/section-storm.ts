import { readyStorm, type StormAnswer } from '../../sidecar/test-helpers/register-storm.ts';
import type { Cleanup } from './cleanup.ts';
import type { Backend, KeyServiceBenchOptions } from './config.ts';
import type { Fixtures } from './fixtures.ts';
import { startBenchNode } from './key-server.ts';
import { measure, type Throughput } from './measure.ts';
import { formatUs as fmt, type BenchRow } from './report.ts';
import { throughputRow } from './rows.ts';
import { openBenchRootKey, openBenchStores } from './stores.ts';
import { summarize } from './stats.ts';

/**
 * Issue 13, finding 5: a register storm (wrong passwords for one account, from four loopback
 * addresses, in a process of its own at a lower priority) against a real key-service node with
 * the defaults of `keybridge server` (30 registrations per address at once, 5 wrong passwords
 * per account, hashing one at a time on a low-priority thread), while a registered site reads
 * uncached values over mutual TLS. Rows: the reads alone, then during the storm (target: p99
 * under 50 ms), and what the storm was answered.
 */
const STORM_TARGET_MS = 50;
const SECRETS = 200;

export async function stormSection(
  backend: Backend,
  options: Pick<KeyServiceBenchOptions, 'seconds' | 'stormAttempts' | 'log'>,
  fixtures: Fixtures,
  cleanup: Cleanup,
): Promise<{ rows: BenchRow[]; notes: string[] }> {
  const { log } = options;
  const stores = await openBenchStores(backend, 'storm', fixtures, cleanup);
  const rootKey = await openBenchRootKey(`storm-${backend}`, fixtures, cleanup);
  const node = await startBenchNode(stores, rootKey, fixtures.ca(), cleanup);
  const { server, site, client } = node;
  for (let i = 0; i < SECRETS; i++) await server.service.put(site.identity, site.request(i));
  const ids = site.randomKeyIds(SECRETS, SECRETS);
  const read = async (i: number): Promise<void> => {
    const [secret] = await client.get([ids[i % ids.length]]);
    if (!secret) throw new Error(`storm/${backend}: a stored secret was not found`);
  };
  const row = (id: string, label: string, result: Throughput, more: Partial<BenchRow> = {}): BenchRow =>
    throughputRow('storm', `storm-${backend}-${id}`, `[${backend}] ${label}`, result, { backend, ...more });

  log(`storm/${backend}: uncached reads over mutual TLS, quiet …`);
  const quiet = await measure(read, { seconds: options.seconds, concurrency: 1 });

  const storm = await readyStorm({ url: server.url, caCertPem: server.caCertPem, email: node.email, count: options.stormAttempts });
  log(`storm/${backend}: ${options.stormAttempts} wrong passwords from 4 addresses, reads meanwhile …`);
  const samples: number[] = [];
  let storming = true;
  const started = process.hrtime.bigint();
  const reads = (async () => {
    for (let i = 0; storming; i++) {
      const at = process.hrtime.bigint();
      await read(i);
      samples.push(Number(process.hrtime.bigint() - at) / 1000);
    }
  })();
  let answers: StormAnswer[];
  try {
    answers = await storm();
  } finally {
    storming = false;
    await reads;
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const during: Throughput = {
    concurrency: 1,
    seconds: Math.round(seconds * 100) / 100,
    opsPerSec: Math.round(samples.length / seconds),
    latency: summarize(samples),
    samplesUs: samples,
  };
  const limited = answers.filter((a) => a.status === 429).length;
  const hashed = answers.filter((a) => a.status === 401).length;
  const pass = during.latency.p99Us < STORM_TARGET_MS * 1000;
  const rows = [
    row('quiet', 'uncached get over mTLS, no storm, c1', quiet),
    row('during', `uncached get over mTLS during the storm, c1`, during, {
      target: { text: `p99 < ${STORM_TARGET_MS} ms`, pass },
      extra: { stormAttempts: answers.length, answered429: limited, answered401: hashed, stormSeconds: during.seconds },
    }),
  ];
  const notes = [
    `storm/${backend}: ${answers.length} wrong passwords in ${during.seconds} s: ${limited} answered 429 (per address or per account), ` +
      `${hashed} reached the password hash (401). Reads meanwhile: p50 ${fmt(during.latency.p50Us)}, p99 ${fmt(during.latency.p99Us)} ` +
      `(quiet: p50 ${fmt(quiet.latency.p50Us)}, p99 ${fmt(quiet.latency.p99Us)}).`,
  ];
  return { rows, notes };
}
