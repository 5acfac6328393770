// Pass: every vitest file on the embedded backend (SQLite storage, software root key).
import { drupalTestFiles, wordPressTestFiles } from './files.mjs';
import { runVitest } from './vitest.mjs';

export const embeddedPass = {
  title: 'all test files, KEYBRIDGE_TEST_BACKEND=sqlite-software (SQLite, software root key)',
  run(context, name) {
    // Filters that name only a CMS pass's tests (WordPress or Drupal files, PHPUnit) leave this
    // pass with nothing to run: not a failure.
    const { filters } = context;
    const cmsFiles = [...wordPressTestFiles(context.root), ...drupalTestFiles(context.root)];
    const namesWordPressOnly =
      filters.length > 0 &&
      (filters.some((filter) => filter.includes('php')) || cmsFiles.some((file) => filters.some((filter) => file.includes(filter))));
    runVitest(context, {
      label: `${name} (sqlite-software)`,
      reportName: 'vitest.json',
      args: namesWordPressOnly ? ['--passWithNoTests', ...context.args] : context.args,
      env: { KEYBRIDGE_TEST_BACKEND: 'sqlite-software' },
    });
  },
};
