/** Parent side of bench/baseline-server.ts: start it (pinned like the agent) and learn its addresses. */
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { TSX_IMPORT } from './loadgen-runner.ts';
import type { Target } from './loadgen-protocol.ts';
import { REPO_ROOT, spawnNode, stopChild } from './processes.ts';

export interface BaselineProcess {
  child: ChildProcess;
  pid: number;
  tcp: Target;
  unix: Target;
  stop(): Promise<number | null>;
}

export async function startBaseline(unixPath: string, cpu: number | null): Promise<BaselineProcess> {
  const child = spawnNode([...TSX_IMPORT, join(REPO_ROOT, 'bench', 'baseline-server.ts'), unixPath], {
    cpu,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('baseline server did not start within 30 s')), 30_000);
    child.once('message', (message: { port: number }) => {
      clearTimeout(timer);
      resolve(message.port);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`baseline server exited (${code}) before listening`));
    });
  });
  return {
    child,
    pid: child.pid!,
    tcp: { kind: 'tcp', host: '127.0.0.1', port },
    unix: { kind: 'unix', path: unixPath },
    stop: () => stopChild(child, 3_000),
  };
}
