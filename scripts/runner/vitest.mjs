// Running vitest for a pass, and counting tests that could not run at all.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { failedExit, unrun } from './counts.mjs';
import { seconds } from './context.mjs';
import { countVitestReport } from './vitest-counts.mjs';

const REPORTER = 'scripts/runner/vitest-reporter.mjs';

const vitestBin = (context) => join(context.root, 'node_modules', '.bin', 'vitest');

/**
 * One vitest run, counted into the tally under `label`. `args` are vitest's (flags and files);
 * `env` is added to the pass's environment. The default reporter prints as usual; the runner's
 * own (vitest-reporter.mjs) writes `.test-artifacts/<reportName>` for the counts.
 */
export function runVitest(context, { label, reportName, args, env = {} }) {
  const report = join(context.artifacts, reportName);
  rmSync(report, { force: true });
  const started = Date.now();
  const result = spawnSync(vitestBin(context), ['run', '--reporter=default', `--reporter=./${REPORTER}`, ...args], {
    cwd: context.root,
    stdio: 'inherit',
    env: { ...context.env, ...env, KEYBRIDGE_RUNNER_REPORT: report },
  });
  const status = result.status ?? result.signal;
  let counts;
  if (!existsSync(report)) counts = unrunVitest(context, args, env, `vitest exited ${status} and wrote no report (${REPORTER})`);
  else {
    try {
      counts = countVitestReport(JSON.parse(readFileSync(report, 'utf8')));
    } catch (error) {
      counts = unrun(1, `the vitest report ${report} is unreadable: ${error.message}`);
    }
  }
  context.tally.add(label, failedExit(counts, status, 'vitest'), seconds(started));
}

/** The tests `args` select, all failed for `cause`: counted by listing them, or as one if even that fails. */
function unrunVitest(context, args, env, cause) {
  try {
    return unrun(listVitestTests(context, args, env), cause);
  } catch (error) {
    return unrun(1, `${cause} (and the tests could not be listed: ${error.message})`);
  }
}

/**
 * How many tests `files` hold, as `vitest list` collects them (describe bodies run, no test or
 * hook does), with `env` added. Throws with vitest's reason when the listing fails.
 */
export function listVitestTests(context, files, env = {}) {
  const out = join(context.artifacts, 'vitest-list.json');
  rmSync(out, { force: true });
  const result = spawnSync(vitestBin(context), ['list', `--json=${out}`, ...files], {
    cwd: context.root,
    encoding: 'utf8',
    env: { ...context.env, ...env },
  });
  if (result.status !== 0 || !existsSync(out)) {
    const why =
      `${result.stderr ?? ''}${result.stdout ?? ''}`
        .trim()
        .split('\n')
        .find((line) => /error/i.test(line)) ?? '';
    throw new Error(`vitest list exited ${result.status ?? result.signal}${why ? `: ${why.trim()}` : ''}`);
  }
  return JSON.parse(readFileSync(out, 'utf8')).length;
}
