import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['sidecar/**/*.test.ts', 'docker/**/*.test.ts'],
    // Tests start real processes (keybridge up, php); give them room on a shared 2-core machine.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
