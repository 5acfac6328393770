// Running PHPUnit (shims/phpunit.xml.dist) for the runner, and its tests that must not run as root.
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addCause, failedExit, unrun } from './counts.mjs';
import { seconds } from './context.mjs';
import { countPhpUnit, listedTests } from './phpunit-counts.mjs';

/**
 * Tests in `@group unprivileged` check what file permissions deny, which root is never denied.
 * When the runner is root (CI), the main run leaves them out and runPhpUnitUnprivileged() runs
 * them as `nobody`; otherwise they run in the main run like any other.
 */
export const UNPRIVILEGED_GROUP = 'unprivileged';
export const isRoot = () => process.getuid?.() === 0;

const PHPUNIT = 'shims/vendor/bin/phpunit';
const KB1_VECTORS = 'sidecar/src/crypto/kb1.vectors.json';

function phpUnitArgs(shims, { suites, extra, config = 'phpunit.xml.dist' }) {
  // apc.enable_cli: the plugin's ciphertext cache uses APCu in the CLI as it does in php -S.
  const args = ['-d', 'apc.enable_cli=1', join(shims, 'vendor/bin/phpunit'), '-c', join(shims, config)];
  if (suites) args.push('--testsuite', suites.join(','));
  return [...args, ...extra];
}

/**
 * The number of tests in `suites` (all without), as `phpunit --list-tests-xml` finds them, within
 * `groups` ({ group, excludeGroup }). Throws when PHPUnit cannot list them.
 */
export function listPhpUnitTests(context, suites, groups = {}) {
  const out = join(context.artifacts, 'phpunit-list.xml');
  rmSync(out, { force: true });
  const result = spawnSync('php', phpUnitArgs(join(context.root, 'shims'), { suites, extra: ['--list-tests-xml', out] }), {
    cwd: context.root,
    encoding: 'utf8',
    env: context.env,
  });
  const count = existsSync(out) ? listedTests(readFileSync(out, 'utf8'), groups) : 0;
  if (result.status !== 0 || count === 0) {
    const why = `${result.stderr ?? ''}${result.stdout ?? ''}`.trim().split('\n').slice(-1)[0] ?? '';
    throw new Error(`phpunit --list-tests-xml exited ${result.status ?? result.signal}${why ? `: ${why}` : ''}`);
  }
  return count;
}

/** Tests that could not run because `cause`: counted from the listing (or as one when it cannot list). */
export function phpUnitUnrun(context, suites, cause, groups = {}) {
  try {
    return unrun(listPhpUnitTests(context, suites, groups), cause);
  } catch (error) {
    return unrun(1, `${cause} (and the tests could not be listed: ${error.message})`);
  }
}

/** Runs PHPUnit (`run` spawns it, writing `reports`) and counts its JUnit XML and TeamCity log. */
function runAndCount(context, reports, run, { suites, groups }) {
  for (const file of Object.values(reports)) rmSync(file, { force: true });
  const result = run();
  const status = result.status ?? result.signal;
  const counts = existsSync(reports.junit)
    ? countPhpUnit(readFileSync(reports.junit, 'utf8'), existsSync(reports.teamCity) ? readFileSync(reports.teamCity, 'utf8') : '')
    : phpUnitUnrun(context, suites, `phpunit exited ${status} and wrote no JUnit report`, groups);
  return failedExit(counts, status, 'phpunit');
}

/**
 * PHPUnit as the runner's own user: `suites` (all without) of `config` (a file in shims/: the
 * WordPress and client suites by default, phpunit-drupal.xml.dist for Drupal's), with `env` added.
 */
export function runPhpUnit(context, { label, suites, env = {}, config = 'phpunit.xml.dist', reportName = 'phpunit' }) {
  if (!existsSync(join(context.root, PHPUNIT)))
    return context.tally.add(label, unrun(1, `${PHPUNIT} is missing: run bash shims/install-php-tools.sh`));
  if (!existsSync(join(context.root, 'shims', config))) return context.tally.add(label, unrun(1, `shims/${config} is missing`));
  const reports = { junit: join(context.artifacts, `${reportName}.xml`), teamCity: join(context.artifacts, `${reportName}.teamcity`) };
  const groups = isRoot() ? { excludeGroup: UNPRIVILEGED_GROUP } : {};
  const extra = [
    ...(isRoot() ? ['--exclude-group', UNPRIVILEGED_GROUP] : []),
    '--log-junit',
    reports.junit,
    '--log-teamcity',
    reports.teamCity,
  ];
  const started = Date.now();
  const run = () =>
    spawnSync('php', phpUnitArgs(join(context.root, 'shims'), { suites, extra, config }), {
      cwd: context.root,
      stdio: 'inherit',
      env: { ...context.env, ...env },
    });
  context.tally.add(label, runAndCount(context, reports, run, { suites, groups }), seconds(started));
}

/**
 * As root: the `unprivileged` group as the user `nobody`, from a copy of shims/ (tests, vendor,
 * config) and a fresh plugin build in a folder nobody can read (the checkout itself may sit
 * where nobody cannot: a 0700 home or temp dir). The client suite's bootstrap needs no WordPress.
 */
export function runPhpUnitUnprivileged(context, label) {
  if (!isRoot()) return;
  const started = Date.now();
  const scratch = mkdtempSync(join(tmpdir(), 'kb-phpunit-nobody-'));
  let counts;
  try {
    counts = runAsNobody(context, scratch);
    if (counts.passed + counts.failed + counts.skipped === 0) addCause(counts, 1, `no test of @group ${UNPRIVILEGED_GROUP} ran`);
  } catch (error) {
    counts = unrun(1, `PHPUnit as nobody: ${error.message}`);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  context.tally.add(label, counts, seconds(started));
}

function runAsNobody(context, scratch) {
  chmodSync(scratch, 0o755);
  const shims = join(scratch, 'shims');
  for (const part of ['phpunit.xml.dist', 'tests', 'vendor'])
    cpSync(join(context.root, 'shims', part), join(shims, part), { recursive: true });
  // The client suite's data providers read the shared kb1 vectors from the repository (KEYBRIDGE_REPO_ROOT).
  cpSync(join(context.root, KB1_VECTORS), join(scratch, KB1_VECTORS));
  const build = spawnSync('node', ['bin/keybridge.js', 'shims', 'build', '--out', join(scratch, 'build')], {
    cwd: context.root,
    encoding: 'utf8',
    env: context.env,
  });
  if (build.status !== 0) throw new Error(`keybridge shims build exited ${build.status}: ${build.stderr.trim()}`);
  // Some packages ship files readable by their owner only; nobody must read them all.
  if (spawnSync('chmod', ['-R', 'a+rX', scratch]).status !== 0) throw new Error(`chmod -R a+rX ${scratch} failed`);
  const out = join(scratch, 'out');
  mkdirSync(out);
  chownSync(out, nobodyId('-u'), nobodyId('-g'));
  const reports = { junit: join(out, 'junit.xml'), teamCity: join(out, 'teamcity.log') };
  const extra = ['--group', UNPRIVILEGED_GROUP, '--log-junit', reports.junit, '--log-teamcity', reports.teamCity];
  const setpriv = [
    '--reuid=nobody',
    '--regid=nogroup',
    '--clear-groups',
    '--',
    'php',
    ...phpUnitArgs(shims, { suites: ['client'], extra }),
  ];
  const run = () =>
    spawnSync('setpriv', setpriv, {
      cwd: scratch,
      stdio: 'inherit',
      env: { ...context.env, HOME: scratch, KEYBRIDGE_PLUGIN_DIR: join(scratch, 'build', 'wordpress', 'keybridge') },
    });
  return runAndCount(context, reports, run, { suites: ['client'], groups: { group: UNPRIVILEGED_GROUP } });
}

function nobodyId(flag) {
  const result = spawnSync('id', [flag, 'nobody'], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error('there is no user nobody');
  return Number(result.stdout.trim());
}
