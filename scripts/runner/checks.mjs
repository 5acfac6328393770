// The type check and the linters, each counted as one test: a type error or a style fault in a
// file no test imports still fails the run.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { emptyCounts, failure } from './counts.mjs';
import { seconds } from './context.mjs';

const CHECKS = [
  { label: 'type check', command: 'tsc', args: ['--noEmit', '-p', '.'] },
  { label: 'lint', command: 'eslint', args: ['--max-warnings=0', '.'] },
  { label: 'format', command: 'prettier', args: ['--check', '--log-level=warn', '.'] },
];

export function runChecks(context) {
  for (const { label, command, args } of CHECKS) {
    console.log(`=== ${label}: ${[command, ...args].join(' ')} ===\n`);
    const started = Date.now();
    const result = spawnSync(join(context.root, 'node_modules', '.bin', command), args, {
      cwd: context.root,
      stdio: 'inherit',
      env: context.env,
    });
    const status = result.status ?? result.signal;
    const counts = status === 0 ? { ...emptyCounts(), passed: 1 } : failure(`${command} exited ${status}`);
    context.tally.add(label, counts, seconds(started));
  }
}
