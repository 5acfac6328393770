// Counting PHPUnit 9's reports: totals from its JUnit XML, skip reasons from its TeamCity log
// (JUnit's <skipped/> carries no message).
import { emptyCounts } from './counts.mjs';

/**
 * Totals from PHPUnit's JUnit XML: the outermost <testsuite> elements carry them (PHPUnit 9
 * nests one per suite, class and data provider inside them).
 */
export function junitTotals(xml) {
  const totals = { tests: 0, failures: 0, errors: 0, skipped: 0 };
  let depth = 0;
  for (const tag of xml.matchAll(/<(\/?)testsuite\b([^>]*?)(\/?)>/g)) {
    const [, closing, attributes, selfClosing] = tag;
    if (closing) {
      depth -= 1;
      continue;
    }
    if (depth === 0) {
      for (const key of Object.keys(totals)) {
        const value = new RegExp(`\\b${key}="(\\d+)"`).exec(attributes);
        if (value) totals[key] += Number(value[1]);
      }
    }
    if (!selfClosing) depth += 1;
  }
  return totals;
}

const unescapeTeamCity = (value) => value.replace(/\|(.)/g, (_, c) => ({ n: '\n', r: '\r' })[c] ?? c);

/** The events of a TeamCity log: [{ event, name, message, locationHint, … }]. */
export function teamCityEvents(log) {
  const events = [];
  for (const [, event, attributes] of log.matchAll(/^##teamcity\[(\w+)((?: \w+='(?:\|.|[^|'])*')*)\]$/gm)) {
    const entry = { event };
    for (const [, key, value] of attributes.matchAll(/ (\w+)='((?:\|.|[^|'])*)'/g)) entry[key] = unescapeTeamCity(value);
    events.push(entry);
  }
  return events;
}

/** Each skipped (or incomplete) test as "Class::test" with PHPUnit's message. */
export function teamCitySkips(log) {
  const skips = [];
  let current = null;
  for (const entry of teamCityEvents(log)) {
    if (entry.event === 'testStarted') current = /::\\([^:]+)::/.exec(entry.locationHint ?? '')?.[1] ?? null;
    if (entry.event === 'testIgnored')
      skips.push({ test: current ? `${current}::${entry.name}` : entry.name, reason: entry.message || 'no reason given' });
  }
  return skips;
}

/** Counts (counts.mjs) from the JUnit XML and, when there is one, the TeamCity log. */
export function countPhpUnit(junitXml, teamCityLog = '') {
  const totals = junitTotals(junitXml);
  const counts = emptyCounts();
  counts.failed = totals.failures + totals.errors;
  counts.skipped = totals.skipped;
  counts.passed = totals.tests - counts.failed - counts.skipped;
  counts.skips = teamCitySkips(teamCityLog);
  const unexplained = totals.skipped - counts.skips.length;
  if (unexplained > 0) counts.skips.push({ test: `${unexplained} more PHPUnit test(s)`, reason: 'no reason in the TeamCity log' });
  return counts;
}

/**
 * The number of tests in `phpunit --list-tests-xml` output (one <testCaseMethod> per test and data
 * set), keeping those in `group` and dropping those in `excludeGroup`: PHPUnit 9 lists without
 * applying its group options.
 */
export function listedTests(xml, { group, excludeGroup } = {}) {
  let count = 0;
  for (const [, attributes] of xml.matchAll(/<testCaseMethod\b([^>]*)\/?>/g)) {
    const groups = (/\bgroups="([^"]*)"/.exec(attributes)?.[1] ?? '').split(',');
    if (group && !groups.includes(group)) continue;
    if (excludeGroup && groups.includes(excludeGroup)) continue;
    count += 1;
  }
  return count;
}
