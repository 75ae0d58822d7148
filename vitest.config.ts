import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['packages/*/src/**/*.test.ts', 'nodes/*/src/**/*.test.ts', 'test/**/*.test.ts'],
    // The browser tests run on their own afterwards (vitest.e2e.config.ts), so Chromium never competes for the two
    // cores with the rest of the suite.
    exclude: ['**/node_modules/**', 'test/e2e/**'],
    pool: 'forks',
    testTimeout: 30_000,
  },
});
