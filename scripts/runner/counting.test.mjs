// The runner's counting (scripts/test-all.mjs): against reports recorded from real vitest and
// PHPUnit runs of the files in fixtures/ (see fixtures/README.md), and against a fresh vitest run
// of the same files, so that a vitest upgrade that changes what it reports fails here.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DROPPED_ENV, testEnvironment } from './context.mjs';
import { failure, sumCounts, unrun } from './counts.mjs';
import { countPhpUnit, junitTotals, listedTests, teamCitySkips } from './phpunit-counts.mjs';
import { Tally, suiteLine } from './tally.mjs';
import { countVitestReport } from './vitest-counts.mjs';
import { testCallsInSource } from './vitest-reporter.mjs';
import { runFixtures } from './fixtures/run-fixtures.mjs';

const RECORDED = join(fileURLToPath(new URL('.', import.meta.url)), 'fixtures', 'recorded');
const recorded = (name) => JSON.parse(readFileSync(join(RECORDED, `${name}.json`), 'utf8'));
const recordedText = (name) => readFileSync(join(RECORDED, name), 'utf8');
const causes = (counts) => counts.causes.map((cause) => cause.text);

describe('counting a vitest report', () => {
  it('counts the tests of a failed beforeAll as failures caused by it, and keeps real skips and real results', () => {
    const counts = countVitestReport(recorded('describe-before-all'));
    expect(counts).toMatchObject({ passed: 1, failed: 3, skipped: 5 });
    // 1 failed assertion + 2 tests its beforeAll never let run.
    expect(causes(counts)).toEqual([
      '2 could not run: describe-before-all.fixture.mjs > needs a fixture: the fixture did not start: port 1 refused',
    ]);
    expect(counts.skips).toEqual([
      { test: 'describe-before-all.fixture.mjs > needs a fixture > a declared skip inside the broken block', reason: 'no reason given' },
      { test: 'describe-before-all.fixture.mjs > runs > is skipped without a reason', reason: 'no reason given' },
      { test: 'describe-before-all.fixture.mjs > runs > is skipped by a condition', reason: 'no reason given' },
      { test: 'describe-before-all.fixture.mjs > runs > skips itself with a reason', reason: 'this implementation has no probe' },
      { test: 'describe-before-all.fixture.mjs > runs > is a todo', reason: 'todo' },
    ]);
  });

  it("counts a file-level beforeAll's unrun tests as failures naming its error (a browser that did not launch)", () => {
    const counts = countVitestReport(recorded('file-before-all'));
    expect(counts).toMatchObject({ passed: 0, failed: 2, skipped: 0 });
    expect(causes(counts)).toEqual([
      '2 could not run: file-before-all.fixture.mjs: Chromium did not launch: executable does not exist at /nonexistent/chromium',
    ]);
  });

  it('counts a file that did not load as one failure per test call in its source', () => {
    const counts = countVitestReport(recorded('load-error'));
    expect(counts).toMatchObject({ passed: 0, failed: 3, skipped: 0 });
    expect(causes(counts)[0]).toMatch(/^3 could not run: load-error\.fixture\.mjs did not load: Cannot find module '\.\/this-module/);
  });

  it('counts an afterAll error as a failure even though every test passed', () => {
    const counts = countVitestReport(recorded('after-all'));
    expect(counts).toMatchObject({ passed: 1, failed: 1, skipped: 0 });
    expect(causes(counts)).toEqual(['after-all.fixture.mjs > cleans up: could not stop the server']);
  });

  it('counts an unhandled error as a failure beside passing tests', () => {
    const counts = countVitestReport(recorded('unhandled'));
    expect(counts).toMatchObject({ passed: 2, failed: 1, skipped: 0 });
    expect(causes(counts)).toEqual(['unhandled error: late failure outside the test']);
  });

  it('counts real skips as skips, with their reasons, and nothing as failed', () => {
    const counts = countVitestReport(recorded('real-skips'));
    expect(counts).toMatchObject({ passed: 1, failed: 0, skipped: 2, causes: [] });
    expect(counts.skips.map((skip) => skip.reason)).toEqual(['this implementation has no peer storage on one database', 'no reason given']);
  });

  it('drops no failure because another happened: several reports add up', () => {
    const names = ['describe-before-all', 'file-before-all', 'load-error', 'after-all', 'unhandled', 'real-skips'];
    const total = sumCounts(names.map((name) => countVitestReport(recorded(name))));
    expect(total).toMatchObject({ passed: 5, failed: 10, skipped: 7 });
    expect(total.causes).toHaveLength(5);
  });

  it('counts tests that never finished (an interrupted run, a dead worker) as failures', () => {
    const report = recorded('real-skips');
    report.modules[0].tests[0].state = 'pending';
    expect(causes(countVitestReport(report))).toEqual([
      '1 could not run: real-skips.fixture.mjs: tests never finished (did the worker die?)',
    ]);
    report.reason = 'interrupted';
    expect(causes(countVitestReport(report))).toEqual([
      '1 could not run: real-skips.fixture.mjs: the run was interrupted before it finished',
    ]);
  });

  it('refuses a report that is not the runner reporter’s', () => {
    expect(() => countVitestReport({ numPassedTests: 3 })).toThrow(/not a keybridge-runner-vitest-1 report/);
  });

  it('finds test calls in a source however they are chained', () => {
    const source =
      "it('a', f);\n  test('b', f);\nit.skipIf(x)('c', f);\nit.each([1, 2])('d %s', f);\n// it('e') in prose\nconst it2 = 1;\n";
    expect(testCallsInSource(source)).toBe(4);
  });

  it('counts the recorded files the same way in a fresh vitest run today', () => {
    const names = ['describe-before-all', 'file-before-all', 'load-error', 'after-all', 'unhandled', 'real-skips'];
    const live = countVitestReport(runFixtures(names));
    const fromRecordings = sumCounts(names.map((name) => countVitestReport(recorded(name))));
    const sorted = (counts) => ({ ...counts, causes: causes(counts).sort(), skips: counts.skips.map((skip) => skip.test).sort() });
    expect(sorted(live)).toEqual(sorted(fromRecordings));
  }, 120_000);
});

describe('counting PHPUnit', () => {
  it('totals its JUnit XML: failures and errors as failed, data sets as tests', () => {
    expect(junitTotals(recordedText('phpunit-mixed.junit.xml'))).toEqual({ tests: 6, failures: 1, errors: 1, skipped: 1 });
  });

  it('takes skip reasons from the TeamCity log, unescaped', () => {
    const counts = countPhpUnit(recordedText('phpunit-mixed.junit.xml'), recordedText('phpunit-mixed.teamcity.txt'));
    expect(counts).toMatchObject({ passed: 3, failed: 2, skipped: 1 });
    expect(counts.skips).toEqual([{ test: 'MixedTest::test_skips', reason: "needs the [pdo_pgsql] extension | or 'pgsql'" }]);
  });

  it('says so when a skip has no reason in the log', () => {
    const counts = countPhpUnit(recordedText('phpunit-root-unprivileged.junit.xml'));
    expect(counts).toMatchObject({ passed: 0, failed: 0, skipped: 1 });
    expect(counts.skips).toEqual([{ test: '1 more PHPUnit test(s)', reason: 'no reason in the TeamCity log' }]);
    expect(teamCitySkips(recordedText('phpunit-root-unprivileged.teamcity.txt'))[0]).toEqual({
      test: 'ClientFailureTest::test_an_unreadable_token_file_is_token_file_unreadable',
      reason: 'running as root, which reads a mode 0000 file anyway: npm test runs it as nobody',
    });
  });

  it('counts listed tests within the groups PHPUnit itself does not apply to a listing', () => {
    const xml = recordedText('phpunit-client.list.xml');
    const all = listedTests(xml);
    expect(all).toBeGreaterThan(50);
    expect(listedTests(xml, { group: 'unprivileged' })).toBe(1);
    expect(listedTests(xml, { excludeGroup: 'unprivileged' })).toBe(all - 1);
  });
});

describe('the tally and its report', () => {
  it('names the causes in the suite line, lists every skip reason and ends with the plain total', () => {
    const tally = new Tally();
    const quiet = console.log;
    console.log = () => undefined;
    try {
      tally.add('pass 1', countVitestReport(recorded('describe-before-all')), 3);
      tally.add('pass 3 (WordPress)', unrun(140, 'the WordPress fixture did not start (fixtures/wordpress/up.sh exited 1)'));
    } finally {
      console.log = quiet;
    }
    const lines = tally.report().split('\n');
    expect(lines.at(-1)).toBe('1 passed, 143 failed, 5 skipped');
    expect(lines).toContain(
      'pass 3 (WordPress): 0 passed, 140 failed (140 could not run: the WordPress fixture did not start (fixtures/wordpress/up.sh exited 1)), 0 skipped',
    );
    expect(lines).toContain('  describe-before-all.fixture.mjs > runs > skips itself with a reason: this implementation has no probe');
    expect(tally.failed).toBe(true);
  });

  it('lists causes under the line when there are more than fit on it', () => {
    const counts = sumCounts(['a', 'b', 'c', 'd'].map((name) => failure(`${name} broke`)));
    expect(suiteLine('pass', counts)).toBe('pass: 0 passed, 4 failed (a broke; b broke; c broke; …), 0 skipped');
  });
});

describe("the tests' environment", () => {
  it('never passes UPDATE_GOLDEN, KEYBRIDGE_WP_ENV or a report path on from the caller', () => {
    const env = testEnvironment({ PATH: '/bin', UPDATE_GOLDEN: '1', KEYBRIDGE_WP_ENV: '/tmp/env', KEYBRIDGE_RUNNER_REPORT: '/tmp/r' });
    expect(env).toEqual({ PATH: '/bin', NO_COLOR: '1' });
    expect(DROPPED_ENV).toContain('UPDATE_GOLDEN');
  });
});
