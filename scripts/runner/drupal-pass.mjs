// Pass: one real Drupal (fixtures/drupal/up.sh: a Composer project installed with this machine's
// Composer configuration, a multisite on SQLite, the built module, an agent per site) shared, one
// file at a time, by every *.drupal.test.ts and by PHPUnit's Drupal suite
// (shims/phpunit-drupal.xml.dist). Order: the browser test first (it registers the site through
// the settings page), the other files, PHPUnit, and the uninstall test last (it takes the module
// away). down.sh runs whatever happens.
//
// Where this machine's Composer cannot resolve drupal/* the fixture exits 77: every Drupal test
// then counts as SKIPPED, each with the fixture's reason; never as passed. Any other failure to
// start counts every Drupal test as failed, with that cause.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { emptyCounts, failure, unrun } from './counts.mjs';
import { seconds, selected } from './context.mjs';
import { drupalTestFiles } from './files.mjs';
import { runPhpUnit } from './phpunit.mjs';
import { testCallsInSource } from './vitest-reporter.mjs';
import { runVitest } from './vitest.mjs';

const BROWSER_FILE = 'shims/tests/drupal/browser.drupal.test.ts';
const UNINSTALL_FILE = 'shims/tests/drupal/uninstall.drupal.test.ts';
const PHPUNIT_CONFIG = 'phpunit-drupal.xml.dist';
const PHPUNIT_DIR = 'shims/tests/php/drupal';

function fixture(context, dir, script, extra = []) {
  return spawnSync('bash', [join(context.root, 'fixtures/drupal', script), dir, ...extra], {
    cwd: context.root,
    // stdout (the env lines, with the admin password) goes to DIR/env only, never the log.
    stdio: ['ignore', 'ignore', 'pipe'],
    encoding: 'utf8',
    env: context.env,
    timeout: 900_000,
  });
}

/**
 * The Drupal tests, counted from their sources: without a Drupal they cannot be listed (the
 * vitest files read the fixture's env when they load, PHPUnit's bootstrap boots the site).
 */
function drupalTests(context, { files, withPhpUnit }) {
  const tests = files.map((file) => ({ test: file, count: testCallsInSource(readFileSync(join(context.root, file), 'utf8')) }));
  if (withPhpUnit) {
    const dir = join(context.root, PHPUNIT_DIR);
    for (const name of existsSync(dir) ? readdirSync(dir).filter((file) => file.endsWith('Test.php')) : []) {
      const count = (readFileSync(join(dir, name), 'utf8').match(/public function test\w*\s*\(/g) ?? []).length;
      tests.push({ test: `${PHPUNIT_DIR}/${name}`, count });
    }
  }
  return tests.filter((entry) => entry.count > 0);
}

function skippedForReason(tests, reason) {
  const counts = emptyCounts();
  for (const { test, count } of tests) {
    counts.skipped += count;
    counts.skips.push({ test: `${test} (${count} tests)`, reason });
  }
  return counts;
}

function runAgainstFixture(context, name, { files, withPhpUnit }, envFile) {
  const flags = [...context.flags, '--no-file-parallelism'];
  const env = { KEYBRIDGE_DRUPAL_ENV: envFile, KEYBRIDGE_TEST_BACKEND: 'sqlite-software' };
  const vitest = (label, reportName, list) =>
    list.length > 0 && runVitest(context, { label: `${name} (${label})`, reportName, args: [...flags, ...list], env });
  vitest(
    'Drupal, browser first',
    'vitest-drupal-browser.json',
    files.filter((file) => file === BROWSER_FILE),
  );
  vitest(
    'Drupal',
    'vitest-drupal.json',
    files.filter((file) => file !== BROWSER_FILE && file !== UNINSTALL_FILE),
  );
  if (withPhpUnit) runPhpUnit(context, { label: `${name} (Drupal PHPUnit)`, config: PHPUNIT_CONFIG, reportName: 'phpunit-drupal', env });
  vitest(
    'Drupal, uninstall last',
    'vitest-drupal-uninstall.json',
    files.filter((file) => file === UNINSTALL_FILE),
  );
}

export const drupalPass = {
  title: 'Drupal (fixtures/drupal/up.sh): *.drupal.test.ts one file at a time, PHPUnit before the uninstall test',
  run(context, name) {
    const selection = {
      files: drupalTestFiles(context.root).filter((file) => selected(context, file)),
      withPhpUnit: context.filters.length === 0 || context.filters.some((filter) => filter.includes('php') || filter.includes('drupal')),
    };
    if (selection.files.length === 0 && !selection.withPhpUnit) return console.log('    (no Drupal test file matches the arguments)\n');
    for (const file of selection.files) console.log(`    ${file}`);
    if (selection.withPhpUnit) console.log(`    PHPUnit: shims/${PHPUNIT_CONFIG}`);
    console.log('');

    const dir = mkdtempSync(join(tmpdir(), 'kb-drupal-'));
    try {
      const started = Date.now();
      const up = fixture(context, dir, 'up.sh');
      process.stderr.write(up.stderr ?? '');
      if (up.status === 77) {
        // Its first line says why; Composer's own lines are printed above.
        const reason = (up.stderr ?? '').trim().split('\n')[0] || 'the fixture gave no reason';
        return context.tally.add(
          `${name} (Drupal)`,
          skippedForReason(drupalTests(context, selection), `fixtures/drupal/up.sh exited 77: ${reason}`),
        );
      }
      if (up.status !== 0) {
        const cause = `the Drupal fixture did not start (fixtures/drupal/up.sh exited ${up.status ?? up.signal})`;
        const count = drupalTests(context, selection).reduce((sum, entry) => sum + entry.count, 0);
        return context.tally.add(`${name} (Drupal)`, unrun(count, cause));
      }
      console.log(`\n=== Drupal fixture up in ${seconds(started)} s ===\n`);
      runAgainstFixture(context, name, selection, join(dir, 'env'));
    } finally {
      // The fixture's logs outlive it, for a failed run to be read.
      rmSync(join(context.artifacts, 'drupal-logs'), { recursive: true, force: true });
      if (existsSync(join(dir, 'logs'))) cpSync(join(dir, 'logs'), join(context.artifacts, 'drupal-logs'), { recursive: true });
      const down = fixture(context, dir, 'down.sh', ['--purge']);
      if (down.status !== 0)
        context.tally.add(
          `${name} (Drupal) cleanup`,
          failure(`fixtures/drupal/down.sh exited ${down.status ?? down.signal}: processes may be left under ${dir}`),
        );
    }
  },
};
