import { KeybridgeError } from '../errors.ts';
import type { RootKeyRing } from '../sealing/root-key-ring.ts';

/**
 * Whether the root key is usable right now, for `KeyService.info()` and so the status
 * table's at-rest row. A probe is one tiny operation (see RootKey.probe), and its verdict is
 * kept for a few seconds so frequent status calls do not hammer the HSM; concurrent callers
 * share one probe. The verdict never throws: a failing HSM must show as a red row, not as an
 * unreachable key service. A probe that hangs (an HSM on a dead network) counts as failed.
 *
 * Before probing, the ring is refreshed, so a rotation made by another process is picked up
 * within one cache period even on a node that serves only cached vaults.
 */
export interface AtRestHealth {
  healthy?: boolean;
  detail?: string;
}

export interface AtRestProbeOptions {
  /** How long a verdict is reused, in ms (default 5000, at most 5000). */
  cacheMs?: number;
  /** How long a probe may take before it counts as failed, in ms (default 2000). */
  timeoutMs?: number;
}

export class AtRestProbe {
  readonly #ring: RootKeyRing;
  readonly #cacheMs: number;
  readonly #timeoutMs: number;
  #verdict: { at: number; health: AtRestHealth } | null = null;
  #running: Promise<AtRestHealth> | null = null;

  constructor(ring: RootKeyRing, options: AtRestProbeOptions = {}) {
    this.#ring = ring;
    this.#cacheMs = Math.min(Math.max(0, options.cacheMs ?? 5000), 5000);
    this.#timeoutMs = Math.max(1, options.timeoutMs ?? 2000);
  }

  check(): Promise<AtRestHealth> {
    if (this.#verdict && Date.now() - this.#verdict.at < this.#cacheMs) return Promise.resolve(this.#verdict.health);
    this.#running ??= this.#probe()
      .then((health) => {
        this.#verdict = { at: Date.now(), health };
        return health;
      })
      .finally(() => (this.#running = null));
    return this.#running;
  }

  async #probe(): Promise<AtRestHealth> {
    await this.#ring.refresh().catch(() => undefined);
    let timer: NodeJS.Timeout | undefined;
    try {
      const rootKey = this.#ring.current;
      if (!rootKey.probe) return {};
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new KeybridgeError('root-key-unavailable', `no answer within ${this.#timeoutMs} ms`)),
          this.#timeoutMs,
        );
        timer.unref();
      });
      await Promise.race([rootKey.probe(), timeout]);
      return { healthy: true };
    } catch (error) {
      const detail = error instanceof KeybridgeError ? (error.detail ?? error.message) : 'the root key probe failed';
      return { healthy: false, detail };
    } finally {
      clearTimeout(timer);
    }
  }
}
