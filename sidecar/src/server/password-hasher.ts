import { Worker } from 'node:worker_threads';
import type { ScryptRunner } from '../crypto/index.ts';
import { KeybridgeError } from '../errors.ts';

/**
 * scrypt on a thread of its own, at a lower scheduling priority (nice 10 on Linux, where the
 * nice value is per thread), instead of libuv's thread pool: a password hash (128 MiB, most of
 * a second of one core) then yields the CPU to the key service's reads on a busy machine, and
 * never holds a pool thread that storage or HSM calls wait for. One hash at a time (the
 * PasswordGuard queue in front of it decides how many may wait).
 *
 * The worker runs node:crypto's scryptSync and nothing else; it is started on first use, does
 * not keep the process alive, and is ended by close().
 */
const WORKER = `
const { parentPort } = require('node:worker_threads');
const { scryptSync } = require('node:crypto');
try {
  // "/proc/thread-self" is "<pid>/task/<tid>": lower this thread's priority only.
  const tid = Number(require('node:fs').readlinkSync('/proc/thread-self').split('/').pop());
  require('node:os').setPriority(tid, 10);
} catch {}
parentPort.on('message', ({ id, password, salt, length, options }) => {
  try {
    parentPort.postMessage({ id, key: scryptSync(password, Buffer.from(salt), length, options) });
  } catch (error) {
    parentPort.postMessage({ id, error: String(error && error.message) });
  }
});
`;

export class PasswordHasher {
  #worker: Worker | null = null;
  #next = 0;
  readonly #pending = new Map<number, { resolve: (key: Buffer) => void; reject: (error: Error) => void }>();

  readonly run: ScryptRunner = (password, salt, length, options) =>
    new Promise<Buffer>((resolve, reject) => {
      const id = ++this.#next;
      this.#pending.set(id, { resolve, reject });
      this.#started().postMessage({ id, password, salt, length, options });
    });

  async close(): Promise<void> {
    const worker = this.#worker;
    this.#worker = null;
    if (worker) await worker.terminate();
  }

  #started(): Worker {
    if (this.#worker) return this.#worker;
    const worker = new Worker(WORKER, { eval: true });
    worker.unref();
    worker.on('message', ({ id, key, error }: { id: number; key?: Uint8Array; error?: string }) => {
      const waiting = this.#pending.get(id);
      this.#pending.delete(id);
      if (key) waiting?.resolve(Buffer.from(key));
      else waiting?.reject(new Error(error ?? 'scrypt failed'));
    });
    // A dead worker fails what it held; the next hash starts a new one.
    const fail = (why: string) => {
      if (this.#worker === worker) this.#worker = null;
      for (const [id, waiting] of this.#pending) {
        this.#pending.delete(id);
        waiting.reject(new KeybridgeError('internal', why));
      }
    };
    worker.on('error', () => fail('the password hashing thread failed'));
    worker.on('exit', () => fail('the password hashing thread stopped'));
    this.#worker = worker;
    return worker;
  }
}
