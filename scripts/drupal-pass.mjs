// The Drupal pass of scripts/test-all.mjs: one real Drupal (fixtures/drupal/up.sh: a Composer
// project installed with this machine's Composer configuration, a multisite on SQLite, the
// built module, an agent per site) shared, one file at a time, by every *.drupal.test.ts and by
// PHPUnit's Drupal suite (shims/phpunit-drupal.xml.dist). Order: the browser test first (it
// registers the site through the settings page), the other files, PHPUnit, and the uninstall
// test last (it takes the module away).
//
// Where this machine's Composer cannot resolve drupal/* the fixture exits 77: then every Drupal
// suite is counted as SKIPPED, with the fixture's reason printed; never as passed.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

const BROWSER_FILE = 'shims/tests/drupal/browser.drupal.test.ts';
const UNINSTALL_FILE = 'shims/tests/drupal/uninstall.drupal.test.ts';
const PHPUNIT_CONFIG = 'shims/phpunit-drupal.xml.dist';

/** Every *.drupal.test.ts in the tree (repo-relative), sorted. */
export function drupalTestFiles(root) {
  const found = [];
  const walk = (at) => {
    for (const entry of readdirSync(at, { withFileTypes: true })) {
      const path = join(at, entry.name);
      if (entry.isDirectory() && !['node_modules', 'vendor'].includes(entry.name) && !entry.name.startsWith('.')) walk(path);
      else if (entry.isFile() && entry.name.endsWith('.drupal.test.ts')) found.push(relative(root, path));
    }
  };
  walk(root);
  return found.sort();
}

/** Tests, failures, errors and skips from PHPUnit's JUnit XML (its outermost <testsuite>). */
function junitTotals(xml) {
  const first = /<testsuite\b([^>]*)>/.exec(xml);
  const value = (name) => Number(new RegExp(`\\b${name}="(\\d+)"`).exec(first?.[1] ?? '')?.[1] ?? 0);
  return { tests: value('tests'), failures: value('failures'), errors: value('errors'), skipped: value('skipped') };
}

/**
 * Runs the pass. `runVitest(label, backend, reportName, vitestArgs, extraEnv)` is the runner's
 * own; `record(label, counts, summary)` adds counts ({passed, failed, skipped}) to its totals.
 */
export function runDrupalPass({ root, artifacts, args, filters, runVitest, record }) {
  const files = drupalTestFiles(root).filter((file) => filters.length === 0 || filters.some((filter) => file.includes(filter)));
  const withPhpUnit = filters.length === 0 || filters.some((filter) => filter.includes('php') || filter.includes('drupal'));
  if (files.length === 0 && !withPhpUnit) {
    console.log('=== Drupal pass skipped: no Drupal test file matches the arguments ===');
    return;
  }
  console.log(
    `=== Drupal pass (fixtures/drupal/up.sh): ${files.length} files one at a time${withPhpUnit ? ', PHPUnit before the uninstall test' : ''} ===`,
  );
  for (const file of files) console.log(`    ${file}`);
  console.log('');

  const dir = mkdtempSync(join(tmpdir(), 'kb-drupal-'));
  const fixture = (name, extra = []) =>
    spawnSync('bash', [join(root, 'fixtures/drupal', name), dir, ...extra], {
      cwd: root,
      stdio: ['ignore', 'ignore', 'pipe'],
      encoding: 'utf8',
      timeout: 900_000,
    });
  try {
    const started = Date.now();
    // stdout (the env lines, with the admin password) goes to DIR/env only, not the CI log.
    const up = fixture('up.sh');
    process.stderr.write(up.stderr ?? '');
    if (up.status === 77) {
      const reason = (up.stderr ?? '').trim().split('\n').slice(0, 6).join(' / ') || 'the fixture gave no reason';
      const suites = files.length + (withPhpUnit ? 1 : 0);
      record(
        'Drupal pass',
        { passed: 0, failed: 0, skipped: suites },
        `SKIPPED, ${suites} suites (fixtures/drupal/up.sh exited 77: ${reason})`,
      );
      return;
    }
    if (up.status !== 0) {
      record(
        'Drupal pass',
        { passed: 0, failed: 1, skipped: 0 },
        `FAILED (fixtures/drupal/up.sh exited ${up.status ?? up.signal}: the Drupal fixture did not start)`,
      );
      return;
    }
    console.log(`\n=== Drupal fixture up in ${((Date.now() - started) / 1000).toFixed(0)} s ===\n`);
    const envFile = join(dir, 'env');
    const flags = [...args.filter((arg) => arg.startsWith('-')), '--no-file-parallelism'];
    const extraEnv = { KEYBRIDGE_DRUPAL_ENV: envFile };
    const vitest = (label, report, list) => list.length > 0 && runVitest(label, 'sqlite-software', report, [...flags, ...list], extraEnv);
    vitest(
      'Drupal pass (browser first)',
      'vitest-drupal-browser.json',
      files.filter((file) => file === BROWSER_FILE),
    );
    vitest(
      'Drupal pass',
      'vitest-drupal.json',
      files.filter((file) => file !== BROWSER_FILE && file !== UNINSTALL_FILE),
    );
    if (withPhpUnit) runDrupalPhpUnit(root, artifacts, envFile, record);
    vitest(
      'Drupal pass (uninstall last)',
      'vitest-drupal-uninstall.json',
      files.filter((file) => file === UNINSTALL_FILE),
    );
  } finally {
    // The fixture's logs outlive it, for a failed run to be read.
    rmSync(join(artifacts, 'drupal-logs'), { recursive: true, force: true });
    if (existsSync(join(dir, 'logs'))) cpSync(join(dir, 'logs'), join(artifacts, 'drupal-logs'), { recursive: true });
    const down = fixture('down.sh', ['--purge']);
    if (down.status !== 0) {
      record(
        'Drupal pass cleanup',
        { passed: 0, failed: 1, skipped: 0 },
        `FAILED (fixtures/drupal/down.sh exited ${down.status ?? down.signal}: processes may be left under ${dir})`,
      );
    }
  }
}

/** PHPUnit's Drupal suite inside the running site; errors count as failures. */
function runDrupalPhpUnit(root, artifacts, envFile, record) {
  const label = 'Drupal pass (PHPUnit)';
  const phpunit = join(root, 'shims/vendor/bin/phpunit');
  if (!existsSync(phpunit)) {
    record(
      label,
      { passed: 0, failed: 1, skipped: 0 },
      'FAILED (shims/vendor/bin/phpunit is missing: run bash shims/install-php-tools.sh)',
    );
    return;
  }
  const report = join(artifacts, 'phpunit-drupal.xml');
  rmSync(report, { force: true });
  const started = Date.now();
  const result = spawnSync('php', ['-d', 'apc.enable_cli=1', phpunit, '-c', join(root, PHPUNIT_CONFIG), '--log-junit', report], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, NO_COLOR: '1', KEYBRIDGE_DRUPAL_ENV: envFile },
  });
  if (!existsSync(report)) {
    record(
      label,
      { passed: 0, failed: 1, skipped: 0 },
      `FAILED (phpunit exited ${result.status ?? result.signal} and wrote no JUnit report)`,
    );
    return;
  }
  const junit = junitTotals(readFileSync(report, 'utf8'));
  const counts = {
    passed: junit.tests - junit.failures - junit.errors - junit.skipped,
    failed: junit.failures + junit.errors,
    skipped: junit.skipped,
  };
  if (result.status !== 0 && counts.failed === 0) counts.failed = 1;
  const seconds = ((Date.now() - started) / 1000).toFixed(0);
  record(label, counts, `${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped in ${seconds} s`);
}
