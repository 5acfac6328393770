import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: [
      'sidecar/**/*.test.ts',
      'docker/**/*.test.ts',
      'shims/**/*.test.ts',
      'admin-ui/**/*.test.ts',
      'fixtures/**/*.test.ts',
      'bench/**/*.test.ts',
      // The test runner's own tests (its fixture files, *.fixture.mjs, are run by those tests only).
      'scripts/**/*.test.mjs',
    ],
    // *.wp.test.ts need the WordPress fixture (MariaDB + WordPress + the built plugin + an
    // agent): scripts/test-all.mjs starts it once and runs them in their own pass, with
    // KEYBRIDGE_WP_ENV naming the fixture's env file.
    // *.drupal.test.ts likewise need the Drupal fixture (KEYBRIDGE_DRUPAL_ENV, scripts/runner/drupal-pass.mjs).
    exclude: [
      '**/node_modules/**',
      ...(process.env.KEYBRIDGE_WP_ENV ? [] : ['**/*.wp.test.ts']),
      ...(process.env.KEYBRIDGE_DRUPAL_ENV ? [] : ['**/*.drupal.test.ts']),
    ],
    // Tests start real processes (keybridge up, php); give them room on a shared 2-core machine.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
