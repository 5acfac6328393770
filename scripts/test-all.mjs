#!/usr/bin/env node
// README command 2: runs every test suite and closes with one plain total line,
// "N passed, N failed, N skipped", over all of them (CI reads that line).
// Suites: the TypeScript type check and the linters (each counted as one test), then vitest
// (TypeScript: crypto vectors, storage, key service, agent API, CLI end to end),
// in two passes over the key-service backend matrix (sidecar/test-helpers/backend.ts):
//   pass 1: every test file, KEYBRIDGE_TEST_BACKEND=sqlite-software (the default);
//   pass 2: the files whose results depend on the key-service backend (those that start a key
//           service with startTestKeyServer, found below), KEYBRIDGE_TEST_BACKEND=postgres-softhsm:
//           two key-service nodes on a real PostgreSQL, sealed by a real SoftHSM token.
// then pass 3, WordPress: one real site (fixtures/wordpress/up.sh: MariaDB, WordPress, the built
// plugin, an unregistered agent) shared, one file at a time, by every *.wp.test.ts (admin-ui's
// first: its browser test registers the site) and by PHPUnit (shims/phpunit.xml.dist).
// Arguments are handed to vitest in every pass (give flags as --flag=value); positional ones
// (file filters) also narrow passes 2 and 3 to the files they match (PHPUnit runs in pass 3
// only without filters or with one containing "php").
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { drupalTestFiles, runDrupalPass } from './drupal-pass.mjs';

const root = new URL('..', import.meta.url).pathname;
const artifacts = join(root, '.test-artifacts');
mkdirSync(artifacts, { recursive: true });

const totals = { passed: 0, failed: 0, skipped: 0 };
const summaries = [];
let broken = false;

function runVitest(label, backend, reportName, vitestArgs, extraEnv = {}) {
  const report = join(artifacts, reportName);
  rmSync(report, { force: true });
  const started = Date.now();
  // *.wp.test.ts run only where KEYBRIDGE_WP_ENV is given (pass 3): never from the caller's shell.
  const { KEYBRIDGE_WP_ENV: _callers, KEYBRIDGE_DRUPAL_ENV: _callersDrupal, ...callerEnv } = process.env;
  const env = { ...callerEnv, NO_COLOR: '1', KEYBRIDGE_TEST_BACKEND: backend, ...extraEnv };
  const result = spawnSync(
    'npx',
    ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...vitestArgs],
    {
      cwd: root,
      stdio: 'inherit',
      env,
    },
  );
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
      else if (entry.isFile() && entry.name.endsWith('.test.ts') && pattern.test(readFileSync(path, 'utf8')))
        found.push(relative(root, path));
    }
  };
  if (existsSync(dir)) walk(dir);
  return found.sort();
}

/** Stops every PostgreSQL a worker of pass 2 may have left behind (a crashed worker skips its afterAll). */
function sweep(scratch) {
  for (const entry of existsSync(scratch) ? readdirSync(scratch) : []) {
    const pg = join(scratch, entry, 'pg');
    if (existsSync(join(pg, 'data', 'postmaster.pid')))
      spawnSync('bash', [join(root, 'fixtures/postgres/down.sh'), pg], { stdio: 'ignore' });
  }
  rmSync(scratch, { recursive: true, force: true });
}

/** Counts that a suite did not get to run: one failure, with the reason in its summary line. */
function countBroken(label, reason) {
  totals.failed += 1;
  broken = true;
  summaries.push(`${label}: FAILED (${reason})`);
  console.log(`\n=== ${summaries.at(-1)} ===\n`);
}

/** Every *.wp.test.ts in the tree (repo-relative), sorted. */
function wordPressTestFiles() {
  const found = [];
  const walk = (at) => {
    for (const entry of readdirSync(at, { withFileTypes: true })) {
      const path = join(at, entry.name);
      if (entry.isDirectory() && entry.name !== 'node_modules' && entry.name !== 'vendor' && !entry.name.startsWith('.')) walk(path);
      else if (entry.isFile() && entry.name.endsWith('.wp.test.ts')) found.push(relative(root, path));
    }
  };
  walk(root);
  return found.sort();
}

/**
 * Counts from PHPUnit's JUnit XML: the outermost <testsuite> elements carry the totals
 * (PHPUnit 9 nests one per suite, class and data provider inside them).
 */
function junitCounts(xml) {
  const counts = { tests: 0, failures: 0, errors: 0, skipped: 0 };
  let depth = 0;
  for (const tag of xml.matchAll(/<(\/?)testsuite\b([^>]*?)(\/?)>/g)) {
    const [, closing, attributes, selfClosing] = tag;
    if (closing) {
      depth -= 1;
      continue;
    }
    if (depth === 0) {
      for (const key of Object.keys(counts)) {
        const value = new RegExp(`\\b${key}="(\\d+)"`).exec(attributes);
        if (value) counts[key] += Number(value[1]);
      }
    }
    if (!selfClosing) depth += 1;
  }
  return counts;
}

/** PHPUnit (shims/phpunit.xml.dist) against the running site; errors count as failures. */
function runPhpUnit(label, wpEnvFile, wpEnv) {
  const phpunit = join(root, 'shims/vendor/bin/phpunit');
  const config = join(root, 'shims/phpunit.xml.dist');
  if (!existsSync(phpunit)) return countBroken(label, 'shims/vendor/bin/phpunit is missing: run bash shims/install-php-tools.sh');
  if (!existsSync(config)) return countBroken(label, 'shims/phpunit.xml.dist is missing');
  const report = join(artifacts, 'phpunit.xml');
  rmSync(report, { force: true });
  const started = Date.now();
  // apc.enable_cli: the plugin's ciphertext cache uses APCu in the CLI as it does in php -S.
  const result = spawnSync('php', ['-d', 'apc.enable_cli=1', phpunit, '-c', config, '--log-junit', report], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, NO_COLOR: '1', KEYBRIDGE_WP_ENV: wpEnvFile, KEYBRIDGE_PLUGIN_DIR: wpEnv.KEYBRIDGE_PLUGIN_DIR },
  });
  if (!existsSync(report)) return countBroken(label, `phpunit exited ${result.status ?? result.signal} and wrote no JUnit report`);
  const junit = junitCounts(readFileSync(report, 'utf8'));
  const counts = {
    passed: junit.tests - junit.failures - junit.errors - junit.skipped,
    failed: junit.failures + junit.errors,
    skipped: junit.skipped,
  };
  if (result.status !== 0 && counts.failed === 0) counts.failed = 1;
  if (result.status !== 0) broken = true;
  for (const key of Object.keys(totals)) totals[key] += counts[key];
  const seconds = ((Date.now() - started) / 1000).toFixed(0);
  summaries.push(`${label}: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped in ${seconds} s`);
  console.log(`\n=== ${summaries.at(-1)} ===\n`);
}

/**
 * Pass 3: one WordPress fixture for all *.wp.test.ts files and PHPUnit. The files share the
 * site, so they run one at a time; admin-ui's run first, on their own, because the browser
 * test registers the site that later files expect registered. down.sh runs whatever happens.
 */
function runWordPressPass() {
  const files = wordPressTestFiles().filter((file) => filters.length === 0 || filters.some((filter) => file.includes(filter)));
  const withPhpUnit = filters.length === 0 || filters.some((filter) => filter.includes('php'));
  if (files.length === 0 && !withPhpUnit) {
    console.log('=== pass 3 of 3 skipped: no WordPress test file matches the arguments ===');
    return;
  }
  const browserFiles = files.filter((file) => file.startsWith('admin-ui/'));
  const otherFiles = files.filter((file) => !file.startsWith('admin-ui/'));
  console.log(
    `=== pass 3 of 3: WordPress (fixtures/wordpress/up.sh), ${files.length} files one at a time${withPhpUnit ? ', then PHPUnit' : ''} ===`,
  );
  for (const file of files) console.log(`    ${file}`);
  console.log('');

  const dir = mkdtempSync(join(tmpdir(), 'kb-wp-'));
  const fixture = (name, extra = []) =>
    spawnSync('bash', [join(root, 'fixtures/wordpress', name), dir, ...extra], {
      cwd: root,
      stdio: ['ignore', 'ignore', 'inherit'],
      timeout: 600_000,
    });
  try {
    const started = Date.now();
    // stdout (the env lines, with the admin password) goes to DIR/env only, not the CI log.
    const up = fixture('up.sh');
    if (up.status !== 0)
      return countBroken(
        'pass 3 (WordPress)',
        `fixtures/wordpress/up.sh exited ${up.status ?? up.signal}: the WordPress fixture did not start`,
      );
    console.log(`\n=== WordPress fixture up in ${((Date.now() - started) / 1000).toFixed(0)} s ===\n`);
    const envFile = join(dir, 'env');
    const wpEnv = Object.fromEntries(
      readFileSync(envFile, 'utf8')
        .split('\n')
        .filter((line) => line.includes('='))
        .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
    );
    const flags = [...args.filter((arg) => arg.startsWith('-')), '--no-file-parallelism'];
    const extraEnv = { KEYBRIDGE_WP_ENV: envFile };
    if (browserFiles.length > 0)
      runVitest(
        'pass 3 (WordPress, admin-ui first)',
        'sqlite-software',
        'vitest-wordpress-admin-ui.json',
        [...flags, ...browserFiles],
        extraEnv,
      );
    if (otherFiles.length > 0)
      runVitest('pass 3 (WordPress)', 'sqlite-software', 'vitest-wordpress.json', [...flags, ...otherFiles], extraEnv);
    if (withPhpUnit) runPhpUnit('pass 3 (PHPUnit)', envFile, wpEnv);
  } finally {
    // The fixture's logs outlive it, for a failed run to be read.
    const logs = join(dir, 'logs');
    rmSync(join(artifacts, 'wordpress-logs'), { recursive: true, force: true });
    if (existsSync(logs)) cpSync(logs, join(artifacts, 'wordpress-logs'), { recursive: true });
    const down = fixture('down.sh', ['--purge']);
    if (down.status !== 0)
      countBroken(
        'pass 3 (WordPress) cleanup',
        `fixtures/wordpress/down.sh exited ${down.status ?? down.signal}: processes may be left under ${dir}`,
      );
  }
}

const args = process.argv.slice(2);
const filters = args.filter((arg) => !arg.startsWith('-'));

// The type check and each linter count as one test: a type error or a style fault in a file no
// test imports still fails CI.
function runCheck(label, command, commandArgs) {
  console.log(`=== ${label}: ${[command, ...commandArgs].join(' ')} ===\n`);
  const started = Date.now();
  const result = spawnSync('npx', [command, ...commandArgs], { cwd: root, stdio: 'inherit' });
  const ok = result.status === 0;
  totals[ok ? 'passed' : 'failed'] += 1;
  if (!ok) broken = true;
  summaries.push(`${label}: ${ok ? 'passed' : 'FAILED'} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  console.log(`\n=== ${summaries.at(-1)} ===\n`);
}
runCheck('type check', 'tsc', ['--noEmit', '-p', '.']);
runCheck('lint', 'eslint', ['--max-warnings=0', '.']);
runCheck('format', 'prettier', ['--check', '--log-level=warn', '.']);

console.log('=== pass 1 of 3: all test files, KEYBRIDGE_TEST_BACKEND=sqlite-software (SQLite, software root key) ===\n');
// Filters that name only pass 3's tests (WordPress files, PHPUnit) leave pass 1 with nothing to run: not a failure.
const filtersNamePass3 =
  filters.length > 0 &&
  (filters.some((filter) => filter.includes('php')) ||
    [...wordPressTestFiles(), ...drupalTestFiles(root)].some((file) => filters.some((filter) => file.includes(filter))));
runVitest('pass 1 (sqlite-software)', 'sqlite-software', 'vitest.json', filtersNamePass3 ? ['--passWithNoTests', ...args] : args);

// Everything that starts a key service through the test helper depends on its backend: this
// includes sidecar/src/environments.test.ts and the server and agent certificate tests.
const backendFiles = [
  ...testFiles(join(root, 'sidecar'), /\bstartTestKeyServer\b/),
  ...testFiles(join(root, 'docker'), /\bstartTestKeyServer\b/),
].filter((file) => filters.length === 0 || filters.some((filter) => file.includes(filter)));
if (backendFiles.length === 0) {
  console.log('=== pass 2 of 3 skipped: no backend-dependent test file matches the arguments ===');
} else {
  console.log(
    `=== pass 2 of 3: ${backendFiles.length} backend-dependent files, KEYBRIDGE_TEST_BACKEND=postgres-softhsm (PostgreSQL, 2 nodes, SoftHSM) ===`,
  );
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

runWordPressPass();

// The Drupal pass (scripts/drupal-pass.mjs) reports its counts through record().
runDrupalPass({
  root,
  artifacts,
  args,
  filters,
  runVitest,
  record(label, counts, summary) {
    for (const key of Object.keys(totals)) totals[key] += counts[key];
    if (counts.failed > 0) broken = true;
    summaries.push(`${label}: ${summary}`);
    console.log(`\n=== ${summaries.at(-1)} ===\n`);
  },
});

for (const line of summaries) console.log(line);
if (broken && totals.failed === 0) totals.failed = 1;
console.log(`${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`);
process.exit(totals.failed > 0 || broken ? 1 : 0);
