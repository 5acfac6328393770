import { X509Certificate } from 'node:crypto';
import { openMeta, openValue } from '../../sidecar/src/server/record-seal.ts';
import type { Cleanup } from './cleanup.ts';
import type { Backend, KeyServiceBenchOptions } from './config.ts';
import type { Fixtures } from './fixtures.ts';
import { startBenchNode } from './key-server.ts';
import { measure, runCount, type Throughput } from './measure.ts';
import { formatUs as fmt, type BenchRow } from './report.ts';
import { throughputRow } from './rows.ts';
import { openBenchRootKey, openBenchStores, openVault } from './stores.ts';
import { summarize } from './stats.ts';
import { StorageTimer } from './timed-storage.ts';

/**
 * Issue "HSM sealing … PostgreSQL": uncached reads through a real key service whose root key
 * lives in a SoftHSM token, on one backend. `readSecrets` secrets are stored through
 * `KeyService.put` (the real audited write), then `KeyService.get(identity, [oneKeyId])` is
 * called in-process at concurrency 1 and 16 on random keys. That is the whole uncached path:
 * vault lookup (data key cached in memory after the first call), read count UPDATE (a durable
 * commit), SELECT, record unseal (AES-GCM), audit INSERT (another durable commit).
 *
 * How a c1 get spends its time is read off the storage calls it makes (timed-storage.ts), and
 * the two steps outside storage are timed alone: the record unseal, and the SoftHSM unwrap of
 * the vault's data key (done once per vault and process, shown to prove it is off the path).
 * When `https`, the same get through the agent's HTTPS client over mutual TLS, and the
 * server's per-request certificate check alone.
 */
const SAMPLE_IDS = 4096;

export async function readsSection(
  backend: Backend,
  options: Pick<KeyServiceBenchOptions, 'seconds' | 'readSecrets' | 'log'>,
  fixtures: Fixtures,
  cleanup: Cleanup,
  https: boolean,
): Promise<{ rows: BenchRow[]; notes: string[] }> {
  const { seconds, readSecrets: count, log } = options;
  const part = Math.max(1, seconds / 3);
  const stores = await openBenchStores(backend, 'reads', fixtures, cleanup);
  const rootKey = await openBenchRootKey(`bench-${backend}`, fixtures, cleanup);
  const timer = new StorageTimer();
  const node = await startBenchNode(stores, rootKey, fixtures.ca(), cleanup, timer.wrap(stores.storage));
  const { server, site, client, certificatePem } = node;
  const { service } = server;
  const identity = site.identity;
  const rows: BenchRow[] = [];
  const row = (id: string, label: string, result: Throughput, more: Partial<BenchRow> = {}): BenchRow =>
    throughputRow('reads', `reads-${backend}-${id}`, `[${backend}] ${label}`, result, { backend, ...more });

  log(`reads/${backend}: storing ${count} secrets through KeyService.put …`);
  const requests = Array.from({ length: count }, (_, i) => site.request(i));
  const put = await runCount((i) => service.put(identity, requests[i]), count, 8);
  rows.push(row('put-c8', 'KeyService.put (seal; upsert + audit, one durable tx), c8', put));

  const ids = site.randomKeyIds(count, SAMPLE_IDS);
  const get = async (i: number): Promise<void> => {
    const [secret] = await service.get(identity, [ids[i % ids.length]]);
    if (!secret?.ciphertext.startsWith('kb1.')) throw new Error(`reads/${backend}: a stored secret was not found`);
  };
  log(`reads/${backend}: KeyService.get c1, c16 …`);
  const c1 = await measure(get, { seconds, concurrency: 1, onMeasure: (phase) => void (timer.recording = phase === 'start') });
  rows.push(row('get-c1', 'KeyService.get, 1 key, in-process, c1', c1));
  const inGet = (method: string) => timer.summary(method);
  const parts = {
    recordReads: inGet('recordReads'),
    getSecrets: inGet('getSecrets'),
    appendAudit: inGet('appendAudit'),
  };
  const partRow = (id: string, label: string, summary: ReturnType<typeof inGet>): BenchRow => ({
    section: 'reads',
    id: `reads-${backend}-in-get-${id}`,
    label: `[${backend}]   within that get: ${label}`,
    backend,
    concurrency: 1,
    count: summary.count,
    p50Us: summary.p50Us,
    p90Us: summary.p90Us,
    p99Us: summary.p99Us,
    extra: { meanUs: summary.meanUs },
  });
  rows.push(partRow('record-reads', 'storage.recordReads (UPDATE reads+1, commit)', parts.recordReads));
  rows.push(partRow('get-secrets', 'storage.getSecrets (SELECT)', parts.getSecrets));
  rows.push(partRow('append-audit', 'storage.appendAudit (INSERT audit row, commit)', parts.appendAudit));
  timer.reset();

  const c16 = await measure(get, { seconds, concurrency: 16 });
  rows.push(row('get-c16', 'KeyService.get, 1 key, in-process, c16', c16));

  log(`reads/${backend}: record unseal and SoftHSM unwrap alone …`);
  const vault = await openVault(stores.storage, rootKey, identity);
  const sealed = [...(await stores.storage.getSecrets(vault.vaultId, ids.slice(0, 256))).values()];
  const unseal = await measure(
    async (i) => {
      const record = sealed[i % sealed.length];
      openMeta(vault.dataKey, vault.vaultId, record.keyId, record.meta);
      openValue(vault.dataKey, vault.vaultId, record.keyId, record.value);
    },
    { seconds: part, concurrency: 1 },
  );
  rows.push(row('unseal', '  alone: record unseal (openMeta + openValue, AES-GCM)', unseal));
  vault.dataKey.fill(0);
  const record = await stores.storage.findVault({ siteId: identity.siteId, environment: identity.environment, region: 'eu' });
  if (!record) throw new Error('the vault disappeared');
  const hsm = await measure(async () => (await rootKey.unwrapDataKey(record.sealedDataKey)).fill(0), { seconds: part, concurrency: 1 });
  rows.push(row('hsm-unwrap', '  alone: SoftHSM unwrap of the vault data key (once per vault)', hsm));

  // Shares of the mean (means add up; percentiles do not).
  const mean = c1.latency.meanUs;
  const writes = parts.recordReads.meanUs + parts.appendAudit.meanUs;
  const rest = mean - writes - parts.getSecrets.meanUs;
  const notes = [
    `reads/${backend}: a c1 get takes ${fmt(mean)} on average: the two commits ${fmt(writes)} (${pct(writes, mean)}: read count ${fmt(parts.recordReads.meanUs)}, ` +
      `audit ${fmt(parts.appendAudit.meanUs)}), the SELECT ${fmt(parts.getSecrets.meanUs)} (${pct(parts.getSecrets.meanUs, mean)}), ` +
      `everything else (validation, unseal ≈ ${fmt(unseal.latency.meanUs)}, promises) ${fmt(rest)}. ` +
      `SoftHSM is off this path: the data key is unwrapped once (${fmt(hsm.latency.p50Us)}) and kept in memory.`,
    `reads/${backend}: c16 gives ${c16.opsPerSec.toLocaleString('en-US')} gets/s vs ${c1.opsPerSec.toLocaleString('en-US')} at c1` +
      (backend === 'sqlite'
        ? ' (better-sqlite3 is synchronous: one commit at a time, so c16 only queues).'
        : ` (pool of 10 connections; the audit inserts serialise on an advisory lock).`),
  ];

  if (https) {
    log(`reads/${backend}: HttpsKeyServiceClient.get c1 over mutual TLS …`);
    const served: number[] = [];
    const overHttps = await measure(
      async (i) => {
        const [secret] = await client.get([ids[i % ids.length]]);
        if (!secret) throw new Error(`reads/${backend}: HTTPS get found nothing`);
      },
      { seconds, concurrency: 1, onMeasure: (phase) => void (node.onServed = phase === 'start' ? (us) => served.push(us) : null) },
    );
    rows.push(row('https-get-c1', 'HTTPS mTLS get (agent client → startServer), c1', overHttps));
    const handler = summarize(served);
    rows.push({
      section: 'reads',
      id: `reads-${backend}-https-handler`,
      label: `[${backend}]   within it: the server app's handling (identify + get + JSON)`,
      backend,
      concurrency: 1,
      count: handler.count,
      p50Us: handler.p50Us,
      p90Us: handler.p90Us,
      p99Us: handler.p99Us,
      extra: { meanUs: handler.meanUs },
    });
    // The exact DER bytes a TLS handshake hands the app.
    const certificateDer = new X509Certificate(certificatePem).raw;
    const identify = await measure(() => server.authority.identify(certificateDer), { seconds: part, concurrency: 1 });
    rows.push(row('identify', '  alone: SiteAuthority.identify (cert verify + registry, per request)', identify));
    const extra = overHttps.latency.meanUs - mean;
    const wire = overHttps.latency.meanUs - handler.meanUs;
    notes.push(
      `reads/${backend}: over HTTPS (kept-alive mTLS) a get takes ${fmt(overHttps.latency.meanUs)} on average, ${fmt(extra)} more than in-process. ` +
        `The server app handles it in ${fmt(handler.meanUs)}, of which ${fmt(identify.latency.meanUs)} is checking the client certificate ` +
        `(SiteAuthority.identify → verifyCertificate parses it with node-forge and X509Certificate, and the CA certificate, on every request); ` +
        `the other ${fmt(wire)} are TLS, HTTP and JSON on both sides (one process, so client and server share the event loop).`,
    );
  }
  return { rows, notes };
}

function pct(part: number, whole: number): string {
  return `${Math.round((part / whole) * 100)}%`;
}
