import { Agent, request } from 'node:https';
import { KeybridgeError, isProblemType } from '../../errors.ts';
import type { KeyServiceClient, KeyServiceInfo, PutSecretRequest, StoredSecret, StoredSecretMeta } from '../../protocol/keyservice.ts';

/**
 * The agent's client for the key service over mutual TLS. It presents the site's client
 * certificate (from the certificate store, re-read when it changes: renewal, move to
 * production), trusts only the key service's CA, and turns every failure into a
 * KeybridgeError: anything that means "the key service is not answering" becomes
 * `keyservice-unavailable`, which the agent answers from its stale cache, and which makes
 * it try the next server URL.
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
}

export class HttpsKeyServiceClient implements KeyServiceClient {
  readonly #options: HttpsKeyServiceOptions;
  #agent: Agent | null = null;
  #agentFor: string | null = null;
  #preferred = 0;

  constructor(options: HttpsKeyServiceOptions) {
    if (options.urls.length === 0) throw new KeybridgeError('config-invalid', 'keyservice.urls: give at least one URL', { field: 'keyservice.urls' });
    this.#options = options;
  }

  info(): Promise<KeyServiceInfo> {
    return this.call('GET', '/ks/v1/info', undefined, false);
  }

  put(request: PutSecretRequest): Promise<{ version: number; updatedAt: string }> {
    return this.call('POST', '/ks/v1/site/secrets/put', request);
  }

  async get(keyIds: readonly string[]): Promise<(StoredSecret | null)[]> {
    return (await this.call<{ secrets: (StoredSecret | null)[] }>('POST', '/ks/v1/site/secrets/get', { keyIds })).secrets;
  }

  async list(): Promise<StoredSecretMeta[]> {
    return (await this.call<{ secrets: StoredSecretMeta[] }>('POST', '/ks/v1/site/secrets/list', {})).secrets;
  }

  async delete(keyId: string): Promise<boolean> {
    return (await this.call<{ deleted: boolean }>('POST', '/ks/v1/site/secrets/delete', { keyId })).deleted;
  }

  /** Calls beyond the KeyServiceClient interface (registration, certificates) use this too. */
  async call<T>(method: string, path: string, body?: unknown, withCertificate = true): Promise<T> {
    const urls = this.#options.urls;
    let lastError: KeybridgeError | null = null;
    for (let attempt = 0; attempt < urls.length; attempt++) {
      const index = (this.#preferred + attempt) % urls.length;
      try {
        const result = await this.#once<T>(urls[index], method, path, body, withCertificate);
        this.#preferred = index;
        return result;
      } catch (error) {
        if (!(error instanceof KeybridgeError) || error.type !== 'keyservice-unavailable') throw error;
        lastError = error;
      }
    }
    throw lastError ?? new KeybridgeError('keyservice-unavailable');
  }

  close(): void {
    this.#agent?.destroy();
    this.#agent = null;
  }

  /** One keep-alive agent per certificate: a new certificate must not reuse old TLS sessions. */
  #agentForTls(withCertificate: boolean): Agent {
    const tls = withCertificate ? this.#options.tls() : null;
    if (withCertificate && !tls) throw new KeybridgeError('certificate-invalid', 'this site is not registered yet: run keybridge register');
    const ca = tls?.caCertPem ?? this.#options.caCertPem();
    const identity = `${tls?.certPem ?? ''}|${ca}`;
    if (!this.#agent || this.#agentFor !== identity) {
      this.#agent?.destroy();
      this.#agent = new Agent({ keepAlive: true, maxSockets: 32, ca: [ca], key: tls?.keyPem, cert: tls?.certPem, minVersion: 'TLSv1.2' });
      this.#agentFor = identity;
    }
    return this.#agent;
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
            let parsed: any;
            try {
              parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
            } catch {
              reject(unavailable(`answered ${res.statusCode} with a body that is not JSON`));
              return;
            }
            const status = res.statusCode ?? 500;
            if (status < 400) resolve(parsed as T);
            else if (status === 503 || status >= 502) reject(unavailable(parsed?.type ? `${parsed.type}` : `HTTP ${status}`));
            else if (isProblemType(parsed?.type)) reject(new KeybridgeError(parsed.type, parsed.detail, { field: parsed.field }));
            else reject(new KeybridgeError('internal', `key service answered HTTP ${status}`));
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
