import { spawn } from 'node:child_process';
import { setPriority } from 'node:os';
import { join } from 'node:path';

/**
 * A register storm against a key service, for the test (server/http/app.anonymous.test.ts)
 * and the bench (bench/keyservice/section-storm.ts): `count` registrations with wrong
 * passwords for `email`, `concurrency` at a time, from 127.0.0.2–5, sent by
 * register-storm-child.ts in a process of its own. The process is started and loaded before
 * the caller measures anything, and runs at a lower CPU priority: an attacker elsewhere does
 * not spend the key service's cores on its own TLS handshakes, as one on the same small
 * machine would. Resolves once it is ready, with a function that starts the storm and
 * resolves with its answers. `route: 'info'` sends anonymous info requests instead (the same
 * handshakes, no registration work): the control to compare a storm's cost with.
 */
export interface StormAnswer {
  status: number;
  type?: string;
  detail?: string;
  retryAfter: string | null;
  contentType?: string;
}

export interface StormOptions {
  url: string;
  caCertPem: string;
  email: string;
  count: number;
  concurrency?: number;
  route?: 'register' | 'info';
}

const CHILD = join(import.meta.dirname, 'register-storm-child.ts');

export async function readyStorm(options: StormOptions): Promise<() => Promise<StormAnswer[]>> {
  const settings = { addresses: ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5'], concurrency: 20, route: 'register', ...options };
  const attacker = spawn(process.execPath, ['--import', 'tsx', CHILD, JSON.stringify(settings)], { stdio: ['pipe', 'pipe', 'inherit'] });
  setPriority(attacker.pid!, 10);
  let out = '';
  attacker.stdout.on('data', (chunk: Buffer) => (out += chunk));
  const done = new Promise<StormAnswer[]>((resolve, reject) => {
    attacker.once('error', reject);
    attacker.once('close', (code) => {
      if (code !== 0) reject(new Error(`the storm process exited ${code}`));
      else
        resolve(
          out
            .trim()
            .split('\n')
            .slice(1)
            .map((line) => JSON.parse(line) as StormAnswer),
        );
    });
  });
  while (!out.startsWith('ready\n')) {
    if (attacker.exitCode !== null) throw new Error(`the storm process exited ${attacker.exitCode} before it was ready`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return () => {
    attacker.stdin.end('go\n');
    return done;
  };
}
