// Counts a report written by vitest-reporter.mjs. The rules, so that every number means what it says:
// - passed and failed tests count as such;
// - a skipped test is a real skip when it was declared so (it.skip, it.skipIf, it.todo, a skipped
//   describe) or skipped itself with a reason (ctx.skip('…')): its reason is listed;
// - a test that was meant to run but never did (its beforeAll, or its file's, failed; the run was
//   interrupted; its worker died) is a FAILURE, with the error that stopped it as the cause;
// - a file that did not load counts as many failures as the test calls its source holds (at least 1);
// - an error of a suite or file that stopped no test (an afterAll, a collection error), and every
//   unhandled error, count as one failure each. Nothing is dropped because something else failed.
import { REPORT_FORMAT } from './vitest-reporter.mjs';
import { addCause, emptyCounts } from './counts.mjs';

/** The nearest suite (or else the file) above a test that has errors of its own: what stopped it. */
function blocker(module, test) {
  for (let id = test.suite; id !== null && id !== undefined; id = module.suites[id].parent) {
    const suite = module.suites[id];
    if (suite.errors.length > 0) return { key: `suite ${id}`, text: `${module.file} > ${suite.name}: ${suite.errors[0]}` };
  }
  if (module.errors.length > 0) return { key: 'module', text: `${module.file}: ${module.errors[0]}` };
  return null;
}

const DECLARED_SKIP = new Set(['skip', 'todo']);

function countModule(module, reason, counts) {
  const stopped = new Map(); // blocker key → { text, count }
  const stoppedBy = (key, text) => {
    const entry = stopped.get(key) ?? { text, count: 0 };
    entry.count += 1;
    stopped.set(key, entry);
  };
  for (const test of module.tests) {
    const name = `${module.file} > ${test.name}`;
    if (test.state === 'passed') counts.passed += 1;
    else if (test.state === 'failed') counts.failed += 1;
    else if (test.state === 'skipped' && (DECLARED_SKIP.has(test.mode) || test.note)) {
      counts.skipped += 1;
      counts.skips.push({ test: name, reason: test.note ?? (test.mode === 'todo' ? 'todo' : 'no reason given') });
    } else {
      // Meant to run, never ran: find what stopped it.
      const found = blocker(module, test);
      if (found) stoppedBy(found.key, found.text);
      else if (reason === 'interrupted') stoppedBy('interrupted', `${module.file}: the run was interrupted before it finished`);
      else if (test.state === 'pending') stoppedBy('pending', `${module.file}: tests never finished (did the worker die?)`);
      else {
        // ctx.skip() without a reason: a real skip, but say that it gave none.
        counts.skipped += 1;
        counts.skips.push({ test: name, reason: 'no reason given' });
      }
    }
  }
  for (const { text, count } of stopped.values()) addCause(counts, count, `${count} could not run: ${text}`);

  // Errors that stopped no test still fail the run: one failure each.
  const blamed = new Set(stopped.keys());
  module.suites.forEach((suite, id) => {
    if (suite.errors.length > 0 && !blamed.has(`suite ${id}`)) addCause(counts, 1, `${module.file} > ${suite.name}: ${suite.errors[0]}`);
  });
  if (module.errors.length > 0 && !blamed.has('module')) {
    if (module.tests.length === 0) {
      const held = Math.max(1, module.testCallsInSource ?? 0);
      addCause(counts, held, `${held} could not run: ${module.file} did not load: ${module.errors[0]}`);
    } else addCause(counts, 1, `${module.file}: ${module.errors[0]}`);
  }
}

/** Counts a vitest-reporter.mjs report: { passed, failed, skipped, causes, skips } (counts.mjs). */
export function countVitestReport(report) {
  if (report?.format !== REPORT_FORMAT) throw new Error(`not a ${REPORT_FORMAT} report`);
  const counts = emptyCounts();
  for (const module of report.modules) countModule(module, report.reason, counts);
  for (const message of report.unhandledErrors) addCause(counts, 1, `unhandled error: ${message}`);
  return counts;
}
