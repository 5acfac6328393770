#!/usr/bin/env node
// README command 2: runs every test suite and closes with one plain total line,
// "N passed, N failed, N skipped", over all of them (CI reads that line).
// Suites: the TypeScript type check (counted as one test), then vitest (TypeScript: crypto vectors, storage, key service, agent API, CLI end to end),
// in two passes over the key-service backend matrix (sidecar/test-helpers/backend.ts):
//   pass 1: every test file, KEYBRIDGE_TEST_BACKEND=sqlite-software (the default);
//   pass 2: the files whose results depend on the key-service backend (those that start a key
//           service with startTestKeyServer, found below), KEYBRIDGE_TEST_BACKEND=postgres-softhsm:
//           two key-service nodes on a real PostgreSQL, sealed by a real SoftHSM token.
// Arguments are handed to vitest in both passes (give flags as --flag=value); positional ones
// (file filters) also narrow pass 2 to the backend-dependent files they match.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const artifacts = join(root, '.test-artifacts');
mkdirSync(artifacts, { recursive: true });

const totals = { passed: 0, failed: 0, skipped: 0 };
const summaries = [];
let broken = false;

function runVitest(label, backend, reportName, vitestArgs) {
  const report = join(artifacts, reportName);
  rmSync(report, { force: true });
  const started = Date.now();
  const env = { ...process.env, NO_COLOR: '1', KEYBRIDGE_TEST_BACKEND: backend };
  const result = spawnSync('npx', ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...vitestArgs], {
    cwd: root,
    stdio: 'inherit',
    env,
  });
  const counts = { passed: 0, failed: 0, skipped: 0 };
  let ok = result.status === 0;
  try {
    const json = JSON.parse(readFileSync(report, 'utf8'));
    counts.passed = json.numPassedTests;
    counts.failed = json.numFailedTests;
    counts.skipped = json.numPendingTests + json.numTodoTests;
    // A file that fails to load has no tests to count: count it as a failure.
    if (json.numFailedTestSuites > 0 && json.numFailedTests === 0) counts.failed += json.numFailedTestSuites;
  } catch {
    console.error(`${label}: vitest wrote no report`);
    ok = false;
  }
  if (!ok && counts.failed === 0) counts.failed = 1;
  if (!ok) broken = true;
  for (const key of Object.keys(totals)) totals[key] += counts[key];
  const seconds = ((Date.now() - started) / 1000).toFixed(0);
  summaries.push(`${label}: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped in ${seconds} s`);
  console.log(`\n=== ${summaries.at(-1)} ===\n`);
}

/** Test files (repo-relative) under `dir` whose text matches `pattern`. */
function testFiles(dir, pattern) {
  const found = [];
  const walk = (at) => {
    for (const entry of readdirSync(at, { withFileTypes: true })) {
      const path = join(at, entry.name);
      if (entry.isDirectory() && entry.name !== 'node_modules') walk(path);
      else if (entry.isFile() && entry.name.endsWith('.test.ts') && pattern.test(readFileSync(path, 'utf8'))) found.push(relative(root, path));
    }
  };
  if (existsSync(dir)) walk(dir);
  return found.sort();
}

/** Stops every PostgreSQL a worker of pass 2 may have left behind (a crashed worker skips its afterAll). */
function sweep(scratch) {
  for (const entry of existsSync(scratch) ? readdirSync(scratch) : []) {
    const pg = join(scratch, entry, 'pg');
    if (existsSync(join(pg, 'data', 'postmaster.pid'))) spawnSync('bash', [join(root, 'fixtures/postgres/down.sh'), pg], { stdio: 'ignore' });
  }
  rmSync(scratch, { recursive: true, force: true });
}

const args = process.argv.slice(2);
const filters = args.filter((arg) => !arg.startsWith('-'));

// The type check counts as one test: a type error in a file no test imports still fails CI.
{
  console.log('=== type check: tsc --noEmit ===\n');
  const started = Date.now();
  const result = spawnSync('npx', ['tsc', '--noEmit', '-p', '.'], { cwd: root, stdio: 'inherit' });
  const ok = result.status === 0;
  totals[ok ? 'passed' : 'failed'] += 1;
  if (!ok) broken = true;
  summaries.push(`type check: ${ok ? 'passed' : 'FAILED'} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  console.log(`\n=== ${summaries.at(-1)} ===\n`);
}

console.log('=== pass 1 of 2: all test files, KEYBRIDGE_TEST_BACKEND=sqlite-software (SQLite, software root key) ===\n');
runVitest('pass 1 (sqlite-software)', 'sqlite-software', 'vitest.json', args);

// Everything that starts a key service through the test helper depends on its backend: this
// includes sidecar/src/environments.test.ts and the server and agent certificate tests.
const backendFiles = [...testFiles(join(root, 'sidecar'), /\bstartTestKeyServer\b/), ...testFiles(join(root, 'docker'), /\bstartTestKeyServer\b/)].filter(
  (file) => filters.length === 0 || filters.some((filter) => file.includes(filter)),
);
if (backendFiles.length === 0) {
  console.log('=== pass 2 of 2 skipped: no backend-dependent test file matches the arguments ===');
} else {
  console.log(`=== pass 2 of 2: ${backendFiles.length} backend-dependent files, KEYBRIDGE_TEST_BACKEND=postgres-softhsm (PostgreSQL, 2 nodes, SoftHSM) ===`);
  for (const file of backendFiles) console.log(`    ${file}`);
  console.log('');
  const scratch = mkdtempSync(join(tmpdir(), 'kb-matrix-'));
  chmodSync(scratch, 0o711); // PostgreSQL runs as `postgres` when the tests run as root
  process.env.KEYBRIDGE_TEST_SCRATCH = scratch;
  try {
    // Positional filters were applied above: pass 2 gets the flags and the file list.
    const flags = args.filter((arg) => arg.startsWith('-'));
    runVitest('pass 2 (postgres-softhsm)', 'postgres-softhsm', 'vitest-postgres-softhsm.json', [...flags, ...backendFiles]);
  } finally {
    sweep(scratch);
  }
}

for (const line of summaries) console.log(line);
if (broken && totals.failed === 0) totals.failed = 1;
console.log(`${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`);
process.exit(totals.failed > 0 || broken ? 1 : 0);
