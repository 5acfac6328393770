#!/usr/bin/env node
// README command 2: runs every test suite and closes with one plain total line,
// "N passed, N failed, N skipped", over all of them (CI reads that line).
// Suites: vitest (TypeScript: crypto vectors, storage, key service, agent API, CLI end to end).
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const artifacts = join(root, '.test-artifacts');
mkdirSync(artifacts, { recursive: true });

const totals = { passed: 0, failed: 0, skipped: 0 };
let broken = false;

function runVitest() {
  const report = join(artifacts, 'vitest.json');
  rmSync(report, { force: true });
  const result = spawnSync(
    'npx',
    ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...process.argv.slice(2)],
    { cwd: root, stdio: 'inherit', env: { ...process.env, NO_COLOR: '1' } },
  );
  try {
    const json = JSON.parse(readFileSync(report, 'utf8'));
    totals.passed += json.numPassedTests;
    totals.failed += json.numFailedTests;
    totals.skipped += json.numPendingTests + json.numTodoTests;
    // A file that fails to load has no tests to count: count it as a failure.
    if (json.numFailedTestSuites > 0 && json.numFailedTests === 0) totals.failed += json.numFailedTestSuites;
  } catch {
    console.error('vitest wrote no report');
    broken = true;
  }
  if (result.status !== 0) broken = true;
}

runVitest();

if (broken && totals.failed === 0) totals.failed = 1;
console.log(`${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`);
process.exit(totals.failed > 0 || broken ? 1 : 0);
