import { fileURLToPath } from 'node:url';
import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

const source = (path: string) => fileURLToPath(new URL(path, import.meta.url));

export default defineConfig({
  // SWC compiles the tests and the code under test, keeping the decorator metadata Nest's injection needs.
  plugins: [swc.vite({ module: { type: 'es6' } })],
  resolve: {
    alias: {
      '@booking/shared': source('./libs/shared/src/index.ts'),
      '@booking/database': source('./libs/database/src/index.ts'),
      '@booking/testing': source('./libs/testing/src/index.ts'),
      '@booking/observability': source('./libs/observability/src/index.ts'),
      '@booking/service-kit': source('./libs/service-kit/src/index.ts'),
    },
  },
  test: {
    include: [
      'apps/*/test/**/*.test.ts',
      'libs/*/test/**/*.test.ts',
      'infrastructure/test/**/*.test.ts',
      'load-testing/test/**/*.test.ts',
    ],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default', './test/summary-reporter.ts'],
    coverage: {
      provider: 'v8',
      include: ['apps/*/src/**/*.ts', 'libs/*/src/**/*.ts'],
      // apps/web is browser code: the end-to-end test drives it in Chromium, where V8 coverage of this process cannot see it.
      exclude: ['libs/testing/**', 'apps/web/**'],
      reporter: ['text-summary', 'text'],
      thresholds: { lines: 80 },
    },
  },
});
