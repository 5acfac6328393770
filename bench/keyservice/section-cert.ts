import { createCsr, generateKeyPairAsync, issueCertificate, parseCsr, type CertificateAuthority } from '../../sidecar/src/pki/index.ts';
import { timeRuns } from './measure.ts';
import type { BenchRow } from './report.ts';
import { summarize } from './stats.ts';

/**
 * Issue "Certificates": what a registration costs in certificate work, timed `runs` times one
 * after another against one CA (RSA-3072, made before the clock starts):
 * - keygen: an RSA-2048 key pair (`generateKeyPairAsync`, libuv thread pool) — the agent's part;
 * - CSR + sign: `createCsr` (agent), then `parseCsr` (checks the self-signature) and
 *   `issueCertificate` (key service's CA).
 * The target (< 300 ms) is judged on the p90 of the total, so it holds for nearly every
 * registration, not just the median one.
 */
export const CERT_TARGET_MS = 300;

export async function certSection(ca: CertificateAuthority, runs: number): Promise<{ rows: BenchRow[]; notes: string[] }> {
  const issue = async (): Promise<{ keygenUs: number; signUs: number }> => {
    const started = process.hrtime.bigint();
    const keyPair = await generateKeyPairAsync();
    const generated = process.hrtime.bigint();
    const csr = parseCsr(createCsr(keyPair, { commonName: 'keybridge site' }));
    const now = Date.now();
    issueCertificate(ca, {
      publicKeyPem: csr.publicKeyPem,
      subject: { commonName: 'site-bench', organizationalUnit: 'development' },
      notBefore: new Date(now - 5 * 60_000),
      notAfter: new Date(now + 90 * 86_400_000),
      usage: 'client',
    });
    const signed = process.hrtime.bigint();
    return { keygenUs: Number(generated - started) / 1000, signUs: Number(signed - generated) / 1000 };
  };
  await issue(); // warm-up: forge and OpenSSL initialisation, first CA parse
  const { samplesUs, results } = await timeRuns(runs, issue);
  const total = summarize(samplesUs);
  const keygen = summarize(results.map((r) => r.keygenUs));
  const sign = summarize(results.map((r) => r.signUs));
  const row = (id: string, label: string, summary: typeof total, extra: Partial<BenchRow> = {}): BenchRow => ({
    section: 'cert',
    id: `cert-${id}`,
    label,
    count: summary.count,
    p50Us: summary.p50Us,
    p90Us: summary.p90Us,
    p99Us: summary.p99Us,
    ...extra,
  });
  const pass = total.p90Us < CERT_TARGET_MS * 1000;
  return {
    rows: [
      row('keygen', 'RSA-2048 key pair (generateKeyPairAsync)', keygen),
      row('csr-sign', 'CSR + parse + CA sign (createCsr, parseCsr, issueCertificate)', sign),
      row('total', 'total per certificate', total, {
        target: { text: `p90 < ${CERT_TARGET_MS} ms (p50 ${total.p50Us < CERT_TARGET_MS * 1000 ? 'passes' : 'fails'})`, pass },
        extra: { maxUs: total.maxUs, meanUs: total.meanUs },
      }),
    ],
    notes: [
      `certificates: keygen is ${Math.round((keygen.meanUs / total.meanUs) * 100)}% of the mean total (RSA prime search: its time varies run to run; max ${Math.round(total.maxUs / 1000)} ms)`,
    ],
  };
}
