/**
 * Parent side of the load generator: starts bench/loadgen.ts in its own process (pinned to
 * its own core when asked), hands it the config over IPC, reports the window boundaries so
 * the caller can sample the server, and returns the result. Kills it if it overstays.
 */
import { join } from 'node:path';
import type { LoadgenConfig, LoadgenMessage, LoadgenResult } from './loadgen-protocol.ts';
import { REPO_ROOT, spawnNode, stopChild } from './processes.ts';

export const TSX_IMPORT = ['--import', 'tsx'];

export interface RunLoadHooks {
  cpu?: number | null;
  onMeasureStart?: () => void;
  onMeasureEnd?: () => void;
}

export async function runLoad(config: LoadgenConfig, hooks: RunLoadHooks = {}): Promise<LoadgenResult> {
  const child = spawnNode([...TSX_IMPORT, join(REPO_ROOT, 'bench', 'loadgen.ts')], {
    cpu: hooks.cpu,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const limitMs = config.warmupMs + config.measureMs + 30_000;
  try {
    return await new Promise<LoadgenResult>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`load generator did not finish within ${limitMs} ms`)), limitMs);
      child.on('message', (message: LoadgenMessage) => {
        switch (message.type) {
          case 'measure-start':
            hooks.onMeasureStart?.();
            break;
          case 'measure-end':
            hooks.onMeasureEnd?.();
            break;
          case 'result':
            clearTimeout(timer);
            resolve(message.result);
            break;
          case 'fatal':
            clearTimeout(timer);
            reject(new Error(`load generator: ${message.message}`));
            break;
        }
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`load generator exited (${code ?? signal}) without a result`));
      });
      child.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      child.send(config);
    });
  } finally {
    await stopChild(child, 2_000);
  }
}
