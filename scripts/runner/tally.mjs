// The runner's running total over every suite, and what it prints at the end: one line per suite
// (its counts, and the causes of failures that no assertion of a test reported), every real skip
// with its reason, then the plain total line CI reads: "N passed, N failed, N skipped".

const CAUSES_INLINE = 3;

/** One suite's summary line: counts, then up to three causes inline (all of them on the lines below it). */
export function suiteLine(label, counts, seconds) {
  const time = seconds === undefined ? '' : ` in ${seconds} s`;
  const causes = counts.causes.map((cause) => cause.text);
  const inline = causes.length === 0 ? '' : ` (${causes.slice(0, CAUSES_INLINE).join('; ')}${causes.length > CAUSES_INLINE ? '; …' : ''})`;
  return `${label}: ${counts.passed} passed, ${counts.failed} failed${inline}, ${counts.skipped} skipped${time}`;
}

export function totalLine(totals) {
  return `${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`;
}

export class Tally {
  totals = { passed: 0, failed: 0, skipped: 0 };
  /** [{ line, causes: string[] }] in the order the suites ran. */
  suites = [];
  /** [{ suite, test, reason }] */
  skips = [];

  /** Adds one suite's counts (counts.mjs) and prints its line at once, for a reader of a long log. */
  add(label, counts, seconds) {
    for (const key of Object.keys(this.totals)) this.totals[key] += counts[key];
    const line = suiteLine(label, counts, seconds);
    this.suites.push({ line, causes: counts.causes.map((cause) => cause.text) });
    for (const skip of counts.skips) this.skips.push({ suite: label, ...skip });
    console.log(`\n=== ${line} ===\n`);
  }

  get failed() {
    return this.totals.failed > 0;
  }

  /** The closing report; its last line is the total. */
  report() {
    const lines = [];
    if (this.skips.length > 0) {
      lines.push(`skipped (${this.skips.length}):`);
      for (const skip of this.skips) lines.push(`  ${skip.test}: ${skip.reason}`);
      lines.push('');
    }
    for (const suite of this.suites) {
      lines.push(suite.line);
      if (suite.causes.length > CAUSES_INLINE) for (const cause of suite.causes) lines.push(`    ${cause}`);
    }
    lines.push(totalLine(this.totals));
    return lines.join('\n');
  }
}
