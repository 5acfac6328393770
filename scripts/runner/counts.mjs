// What one suite of the runner counted: the shape every pass hands to the tally (tally.mjs).
//
//   passed, failed, skipped   numbers of tests
//   causes                    why tests failed without failing an assertion of their own, or
//                             failures that belong to no test: [{ count, text }], e.g.
//                             { count: 26, text: 'could not run: admin-ui/x.wp.test.ts > screen: beforeAll: …' }
//   skips                     every real skip with its reason: [{ test, reason }]

export function emptyCounts() {
  return { passed: 0, failed: 0, skipped: 0, causes: [], skips: [] };
}

/** `count` tests (at least 1) that a suite held but could not run, all failures for one `cause`. */
export function unrun(count, cause) {
  const failed = Math.max(1, count);
  return addCause(emptyCounts(), failed, `${failed} could not run: ${cause}`);
}

/** One failure that belongs to no test (a check that failed, a fixture that did not stop). */
export function failure(cause) {
  return addCause(emptyCounts(), 1, cause);
}

/** Adds a failure cause (and `count` failures) to counts. */
export function addCause(counts, count, text) {
  counts.failed += count;
  counts.causes.push({ count, text });
  return counts;
}

/** The sum of several counts, causes and skips kept in order. */
export function sumCounts(list) {
  const total = emptyCounts();
  for (const counts of list) {
    total.passed += counts.passed;
    total.failed += counts.failed;
    total.skipped += counts.skipped;
    total.causes.push(...counts.causes);
    total.skips.push(...counts.skips);
  }
  return total;
}

/**
 * A process that exited non-zero must show as a failure even when its report holds none (a crash
 * after the report, an error the report format has no place for).
 */
export function failedExit(counts, status, what) {
  if (status !== 0 && counts.failed === 0) addCause(counts, 1, `${what} exited ${status} with no failure in its report`);
  return counts;
}
