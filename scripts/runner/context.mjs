// What every pass of the runner gets: the repository, the artifacts folder, the arguments, the
// tally, and the environment its tests run in.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Tally } from './tally.mjs';

export const ROOT = new URL('../..', import.meta.url).pathname.replace(/\/$/, '');

// Never passed on to the tests from the caller's shell:
// - UPDATE_GOLDEN would let the golden tests rewrite their files (set it on purpose, on that file);
// - KEYBRIDGE_WP_ENV selects the *.wp.test.ts files, which run only in the WordPress pass;
// - KEYBRIDGE_DRUPAL_ENV likewise selects the *.drupal.test.ts files (the Drupal pass);
// - KEYBRIDGE_RUNNER_REPORT is where the runner's vitest reporter writes, per run.
export const DROPPED_ENV = ['UPDATE_GOLDEN', 'KEYBRIDGE_WP_ENV', 'KEYBRIDGE_DRUPAL_ENV', 'KEYBRIDGE_RUNNER_REPORT'];

export function testEnvironment(callerEnv = process.env) {
  const env = { ...callerEnv, NO_COLOR: '1' };
  for (const name of DROPPED_ENV) delete env[name];
  return env;
}

/** @param {string[]} args the runner's arguments: flags go to vitest, positional ones filter files. */
export function createContext(args) {
  const artifacts = join(ROOT, '.test-artifacts');
  mkdirSync(artifacts, { recursive: true });
  return {
    root: ROOT,
    artifacts,
    args,
    flags: args.filter((arg) => arg.startsWith('-')),
    filters: args.filter((arg) => !arg.startsWith('-')),
    tally: new Tally(),
    env: testEnvironment(),
  };
}

/** Whether a file (repo-relative) is selected by the positional arguments (all are, without any). */
export function selected(context, file) {
  return context.filters.length === 0 || context.filters.some((filter) => file.includes(filter));
}

export const seconds = (started) => Number(((Date.now() - started) / 1000).toFixed(0));
