#!/usr/bin/env node
// README command 2 (`npm test`): installs what the tests need and is missing, runs every test
// suite and closes with one plain total line over all of them, "N passed, N failed, N skipped"
// (CI reads that line).
//
// First the machine (runner/requirements.mjs): node_modules must exist (`npm ci` is the user's
// first command); missing Debian packages are installed with apt-get when running as root, else
// one message names the command; shims/vendor comes from shims/install-php-tools.sh.
// Then the type check and the linters (each counted as one test: runner/checks.mjs), then the
// passes below, in order. A pass is an object { title, run(context, name) } in its own module
// under runner/ (name: "pass N"): it runs its suites and adds each one's counts, labelled with
// its name, to context.tally (runner/tally.mjs).
// Adding a pass is adding it to PASSES.
//
// Every number means what it says (runner/vitest-counts.mjs, runner/phpunit-counts.mjs): a test
// that could not run (its beforeAll failed, its file did not load, its fixture did not start, the
// browser did not launch) is a failure, with the cause in its suite's summary line; a skip is a
// skip only when declared or given a reason, and every skip's reason is printed; no failure is
// dropped because another one happened.
//
// Arguments are handed to vitest in every pass (give flags as --flag=value); positional ones
// (file filters) also narrow the later passes to the files they match (PHPUnit runs only without
// filters or with one containing "php"), and make missing packages a note instead of a stop.
// UPDATE_GOLDEN and KEYBRIDGE_WP_ENV from the caller's shell never reach the tests (context.mjs).
import { backendPass } from './runner/backend-pass.mjs';
import { runChecks } from './runner/checks.mjs';
import { createContext } from './runner/context.mjs';
import { drupalPass } from './runner/drupal-pass.mjs';
import { embeddedPass } from './runner/embedded-pass.mjs';
import { ensureRequirements } from './runner/requirements.mjs';
import { totalLine } from './runner/tally.mjs';
import { wordPressPass } from './runner/wordpress-pass.mjs';

const PASSES = [embeddedPass, backendPass, wordPressPass, drupalPass];

const context = createContext(process.argv.slice(2));

const problems = ensureRequirements(context.root, { strict: context.filters.length === 0 });
if (problems.length > 0) {
  for (const problem of problems) console.error(`npm test cannot run: ${problem}`);
  console.log(totalLine({ passed: 0, failed: problems.length, skipped: 0 }));
  process.exit(1);
}
for (const name of ['UPDATE_GOLDEN', 'KEYBRIDGE_WP_ENV'].filter((name) => process.env[name] !== undefined))
  console.log(`note: ${name} is ignored by npm test (see scripts/runner/context.mjs)\n`);

runChecks(context);
PASSES.forEach((pass, index) => {
  console.log(`=== pass ${index + 1} of ${PASSES.length}: ${pass.title} ===\n`);
  pass.run(context, `pass ${index + 1}`);
});

console.log(context.tally.report());
process.exit(context.tally.failed ? 1 : 0);
