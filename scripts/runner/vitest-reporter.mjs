// A vitest reporter for scripts/test-all.mjs: writes, to the file named by KEYBRIDGE_RUNNER_REPORT,
// every test file with its suites and tests as vitest ended them, so that the runner can count them
// (scripts/runner/vitest-counts.mjs). vitest's own JSON report cannot be counted honestly: it lists
// the tests of a failed beforeAll as "skipped" just like a real skip, drops the error of a failed
// describe block, the reason given to ctx.skip() and the unhandled errors. This one keeps each
// test's declared mode (a test that was meant to run but did not is not a skip), each suite's own
// errors, each skip's note and every unhandled error.
//
// Messages are kept to their first line (vitest's console report shows them whole), with the
// project's root taken out of paths.
import { readFileSync, writeFileSync } from 'node:fs';
import { relative } from 'node:path';

export const REPORT_FORMAT = 'keybridge-runner-vitest-1';

/** The first line of an error's message, at most 300 characters, paths under `root` made relative. */
export function firstLine(error, root = '') {
  const text = String(error?.message ?? error ?? '').trim() || String(error?.name ?? 'error');
  const line = (root ? text.replaceAll(`${root}/`, '') : text).split('\n')[0];
  return line.length > 300 ? `${line.slice(0, 297)}…` : line;
}

/**
 * Test calls (`it(`, `test(`, `it.each(…)(`, …) written in a file's source: a file that failed to
 * load has no collected tests, so this is what it held, as far as its own text says.
 */
export function testCallsInSource(source) {
  return source.match(/^\s*(?:it|test)(?:\.\w+(?:\([^()]*\))?)*\s*\(/gm)?.length ?? 0;
}

function describeModule(module, root) {
  const file = relative(root, module.moduleId);
  const suiteIds = new Map();
  const suites = [];
  for (const suite of module.children.allSuites()) {
    suiteIds.set(suite, suites.length);
    suites.push({
      name: suite.fullName,
      parent: suite.parent.type === 'suite' ? suiteIds.get(suite.parent) : null,
      errors: suite.errors().map((error) => firstLine(error, root)),
    });
  }
  const tests = [...module.children.allTests()].map((test) => {
    const result = test.result();
    return {
      name: test.fullName,
      suite: test.parent.type === 'suite' ? suiteIds.get(test.parent) : null,
      mode: test.options.mode,
      state: result.state,
      ...(result.note ? { note: result.note } : {}),
      errors: (result.errors ?? []).map((error) => firstLine(error, root)),
    };
  });
  const entry = { file, state: module.state(), errors: module.errors().map((error) => firstLine(error, root)), suites, tests };
  if (tests.length === 0 && entry.errors.length > 0) {
    try {
      entry.testCallsInSource = testCallsInSource(readFileSync(module.moduleId, 'utf8'));
    } catch {
      entry.testCallsInSource = 0;
    }
  }
  return entry;
}

export default class RunnerReporter {
  root = process.cwd();

  onInit(vitest) {
    this.root = vitest.config.root;
  }

  onTestRunEnd(testModules, unhandledErrors, reason) {
    const file = process.env.KEYBRIDGE_RUNNER_REPORT;
    if (!file) return;
    const report = {
      format: REPORT_FORMAT,
      reason,
      unhandledErrors: unhandledErrors.map((error) => firstLine(error, this.root)),
      modules: testModules.map((module) => describeModule(module, this.root)),
    };
    writeFileSync(file, `${JSON.stringify(report, null, 1)}\n`);
  }
}
