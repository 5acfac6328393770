import { Agent, request } from 'node:https';
import { KeybridgeError, isProblemType } from '../../errors.ts';
import {
  KS_PATHS,
  type CertificateVerdict,
  type Environment,
  type KeyServiceClient,
  type KeyServiceInfo,
  type PutSecretRequest,
  type StoredSecret,
  type StoredSecretMeta,
} from '../../protocol/keyservice.ts';

/**
 * The agent's client for the key service over mutual TLS. It presents the site's client
 * certificate (from the certificate store, re-read when it changes: renewal, move to
 * production), trusts only the key service's CA, and turns every failure into a
 * KeybridgeError: anything that means "the key service is not answering" becomes
 * `keyservice-unavailable`, which the agent answers from its stale cache, and which makes
 * it try the next server URL.
 *
 * Failover: the URL that last answered stays preferred (sticky: no bouncing back). A URL
 * that fails with `keyservice-unavailable` is skipped for a backoff period (1 s, doubling
 * up to 30 s, reset when it answers again), so a dead or black-holed node costs one failed
 * attempt per period instead of one per request. When every URL is in backoff they are all
 * tried once anyway (backed-off ones last), so recovery is noticed at the next request.
 */
export interface ClientTls {
  keyPem: string;
  certPem: string;
  caCertPem: string;
}

export interface HttpsKeyServiceOptions {
  /** One or more key-service base URLs of the agent's region, tried in order. */
  urls: readonly string[];
  /** Current TLS material; null before the site is registered (only `info` and `register` work then). */
  tls: () => ClientTls | null;
  /** Trust anchor before registration (the CA the operator published). */
  caCertPem: () => string;
  timeoutMs?: number;
  /** Backoff after a failure (defaults: 1 s doubling to 30 s). */
  backoff?: { initialMs?: number; maxMs?: number };
  /** Clock for backoff periods (tests). */
  now?: () => number;
}

/** What the client knows about one URL: for status pages and tests. */
export interface UrlHealth {
  url: string;
  preferred: boolean;
  /** Current backoff period in ms (0: healthy). */
  backoffMs: number;
  /** Skipped until this time (ms since the epoch, on the client's clock); 0 when healthy. */
  skipUntil: number;
  failures: number;
}

interface UrlState {
  backoffMs: number;
  skipUntil: number;
  /** Attempt number current when the last failure was counted: older attempts neither escalate nor reset. */
  failedAfter: number;
  failures: number;
}

export const DEFAULT_BACKOFF = { initialMs: 1000, maxMs: 30_000 };

export class HttpsKeyServiceClient implements KeyServiceClient {
  readonly #options: HttpsKeyServiceOptions;
  /** One keep-alive agent for calls with the site's certificate, one for calls without (info, register). */
  readonly #agents = new Map<'certificate' | 'anonymous', { agent: Agent; identity: string }>();
  /** Agents of a replaced certificate, destroyed once their in-flight requests had time to finish. */
  readonly #retired = new Set<Agent>();
  #preferred = 0;
  #attempts = 0;
  readonly #states: UrlState[];
  readonly #now: () => number;
  readonly #backoff: { initialMs: number; maxMs: number };

  constructor(options: HttpsKeyServiceOptions) {
    if (options.urls.length === 0)
      throw new KeybridgeError('config-invalid', 'keyservice.urls: give at least one URL', { field: 'keyservice.urls' });
    this.#options = options;
    this.#states = options.urls.map(() => ({ backoffMs: 0, skipUntil: 0, failedAfter: 0, failures: 0 }));
    this.#now = options.now ?? Date.now;
    const initialMs = Math.max(1, options.backoff?.initialMs ?? DEFAULT_BACKOFF.initialMs);
    this.#backoff = { initialMs, maxMs: Math.max(initialMs, options.backoff?.maxMs ?? DEFAULT_BACKOFF.maxMs) };
  }

  /** The URLs in configured order with their failover state. */
  health(): UrlHealth[] {
    return this.#options.urls.map((url, index) => {
      const { backoffMs, skipUntil, failures } = this.#states[index];
      return { url, preferred: index === this.#preferred, backoffMs, skipUntil, failures };
    });
  }

  /**
   * With the site's certificate when it has one: the key service then also names the HSM
   * module and token (anyone else sees the kind only). A refused certificate still gets the
   * public answer; whoami() gives the key service's verdict on it.
   */
  info(): Promise<KeyServiceInfo> {
    return this.call('GET', KS_PATHS.info, undefined, this.#options.tls() !== null);
  }

  /** The key service's verdict on this site's certificate: who it is, or why it is refused (`certificate-revoked`, …). */
  async whoami(): Promise<CertificateVerdict> {
    const answer = await this.call<{ site_id: string; environment: Environment; serial: string }>('GET', KS_PATHS.whoami);
    return { siteId: answer.site_id, environment: answer.environment, serial: answer.serial };
  }

  put(request: PutSecretRequest): Promise<{ version: number; updatedAt: string }> {
    return this.call('POST', KS_PATHS.secretsPut, request);
  }

  async get(keyIds: readonly string[]): Promise<(StoredSecret | null)[]> {
    return (await this.call<{ secrets: (StoredSecret | null)[] }>('POST', KS_PATHS.secretsGet, { keyIds })).secrets;
  }

  async list(): Promise<StoredSecretMeta[]> {
    return (await this.call<{ secrets: StoredSecretMeta[] }>('POST', KS_PATHS.secretsList, {})).secrets;
  }

  async delete(keyId: string): Promise<boolean> {
    return (await this.call<{ deleted: boolean }>('POST', KS_PATHS.secretsDelete, { keyId })).deleted;
  }

  /** Calls beyond the KeyServiceClient interface (registration, certificates) use this too. */
  async call<T>(method: string, path: string, body?: unknown, withCertificate = true): Promise<T> {
    let lastError: KeybridgeError | null = null;
    for (const index of this.#order()) {
      const started = ++this.#attempts;
      try {
        const result = await this.#once<T>(this.#options.urls[index], method, path, body, withCertificate);
        this.#succeeded(index, started);
        return result;
      } catch (error) {
        if (!(error instanceof KeybridgeError) || error.type !== 'keyservice-unavailable') throw error;
        this.#failed(index, started);
        lastError = error;
      }
    }
    throw lastError ?? new KeybridgeError('keyservice-unavailable');
  }

  /** Every URL once, from the preferred one on: those outside their backoff first, the others last. */
  #order(): number[] {
    const count = this.#options.urls.length;
    const now = this.#now();
    const ready: number[] = [];
    const waiting: number[] = [];
    for (let step = 0; step < count; step++) {
      const index = (this.#preferred + step) % count;
      (this.#states[index].skipUntil <= now ? ready : waiting).push(index);
    }
    return [...ready, ...waiting];
  }

  #succeeded(index: number, started: number): void {
    const state = this.#states[index];
    // An answer to a request sent before the last failure says nothing about the URL now.
    if (started <= state.failedAfter) return;
    this.#preferred = index;
    state.backoffMs = 0;
    state.skipUntil = 0;
  }

  #failed(index: number, started: number): void {
    const state = this.#states[index];
    state.failures++;
    // Concurrent requests that failed on the same outage count once: no escalation to 30 s at once.
    if (started <= state.failedAfter) return;
    state.backoffMs = state.backoffMs === 0 ? this.#backoff.initialMs : Math.min(state.backoffMs * 2, this.#backoff.maxMs);
    state.skipUntil = this.#now() + state.backoffMs;
    state.failedAfter = this.#attempts;
  }

  close(): void {
    for (const { agent } of this.#agents.values()) agent.destroy();
    for (const agent of this.#retired) agent.destroy();
    this.#agents.clear();
    this.#retired.clear();
  }

  /**
   * One keep-alive agent per certificate: a new certificate must not reuse old TLS sessions.
   * Calls with and without the certificate use separate agents, so a status check (info,
   * no certificate) never tears down the connections of key reads in flight; an agent whose
   * certificate was replaced is destroyed only after its requests' timeout.
   */
  #agentForTls(withCertificate: boolean): Agent {
    const tls = withCertificate ? this.#options.tls() : null;
    if (withCertificate && !tls) throw new KeybridgeError('certificate-invalid', 'this site is not registered yet: run keybridge register');
    const ca = tls?.caCertPem ?? this.#options.caCertPem();
    const identity = `${tls?.certPem ?? ''}|${ca}`;
    const slot = withCertificate ? 'certificate' : 'anonymous';
    const current = this.#agents.get(slot);
    if (current?.identity === identity) return current.agent;
    const agent = new Agent({ keepAlive: true, maxSockets: 32, ca: [ca], key: tls?.keyPem, cert: tls?.certPem, minVersion: 'TLSv1.2' });
    this.#agents.set(slot, { agent, identity });
    if (current) {
      const old = current.agent;
      this.#retired.add(old);
      setTimeout(
        () => {
          this.#retired.delete(old);
          old.destroy();
        },
        (this.#options.timeoutMs ?? 5000) + 1000,
      ).unref();
    }
    return agent;
  }

  #once<T>(base: string, method: string, path: string, body: unknown, withCertificate: boolean): Promise<T> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body), 'utf8');
    const url = new URL(path, base);
    const agent = this.#agentForTls(withCertificate);
    return new Promise<T>((resolve, reject) => {
      const req = request(
        url,
        {
          method,
          agent,
          timeout: this.#options.timeoutMs ?? 5000,
          headers: payload ? { 'Content-Type': 'application/json', 'Content-Length': String(payload.length) } : {},
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('error', () => reject(unavailable('the response was cut off')));
          res.on('end', () => {
            let parsed: { type?: unknown; detail?: string; field?: string } | null;
            try {
              parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
            } catch {
              reject(unavailable(`answered ${res.statusCode} with a body that is not JSON`));
              return;
            }
            const status = res.statusCode ?? 500;
            if (status < 400) resolve(parsed as T);
            else if (status === 503 || status >= 502) reject(unavailable(parsed?.type ? `${parsed.type}` : `HTTP ${status}`));
            else if (isProblemType(parsed?.type)) {
              const retryAfter = Number(res.headers['retry-after']);
              const retryAfterSeconds = Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : undefined;
              reject(new KeybridgeError(parsed.type, parsed?.detail, { field: parsed?.field, retryAfterSeconds }));
            } else reject(new KeybridgeError('internal', `key service answered HTTP ${status}`));
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error('timed out')));
      req.on('error', (error: NodeJS.ErrnoException) => reject(unavailable(`${url.host}: ${error.code ?? error.message}`)));
      req.end(payload);
    });
  }
}

function unavailable(detail: string): KeybridgeError {
  return new KeybridgeError('keyservice-unavailable', detail);
}
