// Pass: one real WordPress (fixtures/wordpress/up.sh: MariaDB, WordPress, the built plugin, an
// unregistered agent) shared, one file at a time, by every *.wp.test.ts (admin-ui's first: its
// browser test registers the site) and by PHPUnit (shims/phpunit.xml.dist). down.sh runs whatever
// happens. When the fixture does not start, every test that needed it counts as a failure with
// that cause (counted by listing them), and PHPUnit's client suite, which needs no WordPress, runs.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { failure, sumCounts, unrun } from './counts.mjs';
import { seconds, selected } from './context.mjs';
import { wordPressTestFiles } from './files.mjs';
import { phpUnitUnrun, runPhpUnit, runPhpUnitUnprivileged } from './phpunit.mjs';
import { testCallsInSource } from './vitest-reporter.mjs';
import { listVitestTests, runVitest } from './vitest.mjs';

function fixture(context, dir, script, extra = []) {
  return spawnSync('bash', [join(context.root, 'fixtures/wordpress', script), dir, ...extra], {
    cwd: context.root,
    // stdout (the env lines, with the admin password) goes to DIR/env only, never the log.
    stdio: ['ignore', 'ignore', 'inherit'],
    env: context.env,
    timeout: 600_000,
  });
}

/** KEY=VALUE lines of the fixture's env file. */
function readEnvFile(file) {
  return Object.fromEntries(
    readFileSync(file, 'utf8')
      .split('\n')
      .filter((line) => line.includes('='))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
}

/**
 * How many tests the WordPress vitest files hold. They read the fixture's env file when they
 * load, so they are listed against a stand-in one (every variable the fixture's reader requires,
 * none of them usable); if even that fails, their test calls are counted from their sources.
 */
function countWordPressVitestTests(context, files) {
  const dir = mkdtempSync(join(tmpdir(), 'kb-wp-list-'));
  try {
    const reader = readFileSync(join(context.root, 'fixtures/wordpress/wordpress.ts'), 'utf8');
    const required =
      reader
        .slice(reader.indexOf('const REQUIRED'))
        .split('];')[0]
        .match(/'([A-Z][A-Z0-9_]*)'/g) ?? [];
    const envFile = join(dir, 'env');
    writeFileSync(envFile, required.map((name) => `${name.slice(1, -1)}=/nonexistent/the-fixture-did-not-start\n`).join(''));
    return { count: listVitestTests(context, files, { KEYBRIDGE_WP_ENV: envFile }), how: 'listed' };
  } catch (error) {
    const count = files.reduce((sum, file) => sum + testCallsInSource(readFileSync(join(context.root, file), 'utf8')), 0);
    return { count, how: `counted from their sources, as listing failed: ${error.message}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Everything the fixture would have served counts as failed, with `cause`; the client suite still runs. */
function countFixtureFailure(context, name, { files, withPhpUnit }, cause) {
  const parts = [];
  if (files.length > 0) {
    const { count, how } = countWordPressVitestTests(context, files);
    parts.push(unrun(count, `WordPress vitest tests (${how}): ${cause}`));
  }
  if (withPhpUnit) parts.push(phpUnitUnrun(context, ['wordpress'], `PHPUnit's wordpress suite: ${cause}`));
  context.tally.add(`${name} (WordPress)`, sumCounts(parts));
  if (withPhpUnit) {
    runPhpUnit(context, { label: `${name} (PHPUnit client suite, without WordPress)`, suites: ['client'] });
    runPhpUnitUnprivileged(context, `${name} (PHPUnit as nobody)`);
  }
}

function runAgainstFixture(context, name, { files, withPhpUnit }, envFile) {
  const flags = [...context.flags, '--no-file-parallelism'];
  const env = { KEYBRIDGE_WP_ENV: envFile, KEYBRIDGE_TEST_BACKEND: 'sqlite-software' };
  const browserFiles = files.filter((file) => file.startsWith('admin-ui/'));
  const otherFiles = files.filter((file) => !file.startsWith('admin-ui/'));
  if (browserFiles.length > 0)
    runVitest(context, {
      label: `${name} (WordPress, admin-ui first)`,
      reportName: 'vitest-wordpress-admin-ui.json',
      args: [...flags, ...browserFiles],
      env,
    });
  if (otherFiles.length > 0)
    runVitest(context, { label: `${name} (WordPress)`, reportName: 'vitest-wordpress.json', args: [...flags, ...otherFiles], env });
  if (withPhpUnit) {
    const { KEYBRIDGE_PLUGIN_DIR } = readEnvFile(envFile);
    runPhpUnit(context, { label: `${name} (PHPUnit)`, env: { KEYBRIDGE_WP_ENV: envFile, KEYBRIDGE_PLUGIN_DIR } });
    runPhpUnitUnprivileged(context, `${name} (PHPUnit as nobody)`);
  }
}

export const wordPressPass = {
  title: 'WordPress (fixtures/wordpress/up.sh): *.wp.test.ts one file at a time, then PHPUnit',
  run(context, name) {
    const selection = {
      files: wordPressTestFiles(context.root).filter((file) => selected(context, file)),
      withPhpUnit: context.filters.length === 0 || context.filters.some((filter) => filter.includes('php')),
    };
    if (selection.files.length === 0 && !selection.withPhpUnit) return console.log('    (no WordPress test file matches the arguments)\n');
    for (const file of selection.files) console.log(`    ${file}`);
    if (selection.withPhpUnit) console.log('    PHPUnit: shims/phpunit.xml.dist');
    console.log('');

    const dir = mkdtempSync(join(tmpdir(), 'kb-wp-'));
    try {
      const started = Date.now();
      const up = fixture(context, dir, 'up.sh');
      if (up.status !== 0) {
        const cause = `the WordPress fixture did not start (fixtures/wordpress/up.sh exited ${up.status ?? up.signal})`;
        return countFixtureFailure(context, name, selection, cause);
      }
      console.log(`\n=== WordPress fixture up in ${seconds(started)} s ===\n`);
      runAgainstFixture(context, name, selection, join(dir, 'env'));
    } finally {
      // The fixture's logs outlive it, for a failed run to be read.
      rmSync(join(context.artifacts, 'wordpress-logs'), { recursive: true, force: true });
      if (existsSync(join(dir, 'logs'))) cpSync(join(dir, 'logs'), join(context.artifacts, 'wordpress-logs'), { recursive: true });
      // Not --purge: that refuses a DIR up.sh failed to fill. The runner made DIR, so it removes it.
      const down = fixture(context, dir, 'down.sh');
      if (down.status === 0) rmSync(dir, { recursive: true, force: true });
      else
        context.tally.add(
          `${name} (WordPress) cleanup`,
          failure(`fixtures/wordpress/down.sh exited ${down.status ?? down.signal}: processes may be left under ${dir}`),
        );
    }
  },
};
