import type { Storage } from '../../sidecar/src/storage/types.ts';
import { elapsedUs, summarize, type LatencySummary } from './stats.ts';

/**
 * A Storage that times the calls a KeyService makes on it, while `recording` is on: handed
 * to the key server instead of the real storage, it shows how a real `get` spends its time
 * (in situ, with whatever the calls before it left behind: WAL, locks, pool state), which
 * timing each storage call on its own would not.
 */
export class StorageTimer {
  recording = false;
  readonly #samples = new Map<string, number[]>();

  wrap(storage: Storage): Storage {
    return new Proxy(storage, {
      get: (target, property) => {
        const value = Reflect.get(target, property, target) as unknown;
        if (typeof value !== 'function') return value;
        const method = value as (...args: unknown[]) => Promise<unknown>;
        const name = String(property);
        return async (...args: unknown[]) => {
          if (!this.recording) return method.apply(target, args);
          const start = process.hrtime.bigint();
          try {
            return await method.apply(target, args);
          } finally {
            this.#record(name, elapsedUs(start));
          }
        };
      },
    });
  }

  reset(): void {
    this.#samples.clear();
  }

  summary(method: string): LatencySummary & { totalUs: number } {
    const samples = this.#samples.get(method) ?? [];
    return { ...summarize(samples), totalUs: samples.reduce((total, value) => total + value, 0) };
  }

  #record(method: string, us: number): void {
    let list = this.#samples.get(method);
    if (!list) this.#samples.set(method, (list = []));
    list.push(us);
  }
}
