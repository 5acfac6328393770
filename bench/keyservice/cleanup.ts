/**
 * Everything the bench starts (temp dirs, PostgreSQL, SoftHSM, key services, clients) is
 * registered here as it starts and undone last-in first-out: on success, on an error, and on
 * SIGINT / SIGTERM while a run is active. Each step runs once; a failing step is reported and
 * the others still run.
 */
type Step = { name: string; undo: () => Promise<void> | void };

export class Cleanup {
  readonly #steps: Step[] = [];
  #running: Promise<void> | null = null;

  constructor(private readonly log: (line: string) => void) {}

  /** Registers `undo`; returns a function that runs it now (and removes it from the stack). */
  add(name: string, undo: () => Promise<void> | void): () => Promise<void> {
    const step: Step = { name, undo };
    this.#steps.push(step);
    return async () => {
      const index = this.#steps.indexOf(step);
      if (index < 0) return;
      this.#steps.splice(index, 1);
      await this.#undo(step);
    };
  }

  /**
   * A nested stack, undone as one step of this one (on cleanup of this one, or earlier by
   * calling `close`): a section closes its own stores before the next section starts.
   */
  scope(name: string): { cleanup: Cleanup; close: () => Promise<void> } {
    const child = new Cleanup(this.log);
    return { cleanup: child, close: this.add(name, () => child.run()) };
  }

  /** Undoes every registered step, newest first. Safe to call more than once. */
  run(): Promise<void> {
    this.#running ??= (async () => {
      while (this.#steps.length) await this.#undo(this.#steps.pop()!);
    })().finally(() => {
      this.#running = null;
    });
    return this.#running;
  }

  async #undo(step: Step): Promise<void> {
    try {
      await step.undo();
    } catch (error) {
      this.log(`cleanup: ${step.name} failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}

/**
 * While `body` runs, SIGINT and SIGTERM undo `cleanup` first, then re-raise the signal with
 * the bench's handlers removed (so the process ends as it would have, or the caller's own
 * handlers run). The handlers are removed when `body` settles.
 */
export async function withSignalCleanup<T>(cleanup: Cleanup, log: (line: string) => void, body: () => Promise<T>): Promise<T> {
  const handlers = new Map<NodeJS.Signals, () => void>();
  const remove = (): void => {
    for (const [signal, handler] of handlers) process.removeListener(signal, handler);
    handlers.clear();
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    const handler = (): void => {
      log(`\n${signal}: cleaning up (PostgreSQL, SoftHSM, temp dirs)…`);
      remove();
      // A terminal's ^C also reaches PostgreSQL (same process group), which then drops its
      // connections: a driver error surfacing now must not end the process before the cleanup.
      process.on('uncaughtException', (error) => log(`during cleanup: ${error.message}`));
      void cleanup.run().finally(() => {
        if (process.listenerCount(signal) > 0) process.kill(process.pid, signal);
        else process.exit(signal === 'SIGINT' ? 130 : 143);
      });
    };
    handlers.set(signal, handler);
    process.on(signal, handler);
  }
  try {
    return await body();
  } finally {
    remove();
  }
}
