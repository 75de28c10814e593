import { fileURLToPath } from 'node:url';
import swc from 'unplugin-swc';
import { configDefaults, defineConfig } from 'vitest/config';

const source = (path: string) => fileURLToPath(new URL(path, import.meta.url));

const TESTS = [
  'apps/*/test/**/*.test.ts',
  'libs/*/test/**/*.test.ts',
  'infrastructure/test/**/*.test.ts',
  'load-testing/test/**/*.test.ts',
  'scripts/test/**/*.test.ts',
];

/**
 * The fault suites and the files that take longest; `pnpm test:quick` (project "quick") runs the others.
 * `pnpm test` runs both projects.
 */
const SLOW = [
  '**/faults/**/*.test.ts',
  '**/*-faults.test.ts',
  'apps/notification-service/test/crash-recovery.test.ts',
  'apps/api-gateway/test/booking-client-resilience.test.ts',
  'apps/api-gateway/test/concurrency.test.ts',
  'apps/api-gateway/test/hostile-requests.test.ts',
  'apps/api-gateway/test/live-feed.test.ts',
  'apps/api-gateway/test/observability/monitoring-config.test.ts',
  'apps/api-gateway/test/redis-stall.test.ts',
  'apps/api-gateway/test/slow-clients.test.ts',
  'apps/web/test/e2e.test.ts',
  'apps/web/test/ticketing-e2e.test.ts',
  'apps/web/test/waiting-room-e2e.test.ts',
  'apps/api-gateway/test/waiting-room/waiting-room-concurrency.test.ts',
  'infrastructure/test/compose.test.ts',
  'infrastructure/test/deploy-script.test.ts',
  'infrastructure/test/production-bundle.test.ts',
  'scripts/test/audit-dependencies.test.ts',
  'scripts/test/restore-drill.test.ts',
];

export default defineConfig({
  // SWC compiles the tests and the code under test, keeping the decorator metadata Nest's injection needs.
  plugins: [swc.vite({ module: { type: 'es6' } })],
  resolve: {
    alias: {
      '@booking/shared': source('./libs/shared/src/index.ts'),
      '@booking/database': source('./libs/database/src/index.ts'),
      '@booking/testing': source('./libs/testing/src/index.ts'),
      // Before '@booking/observability', which would otherwise take this subpath too.
      '@booking/observability/config': source('./libs/observability/src/config.ts'),
      '@booking/observability': source('./libs/observability/src/index.ts'),
      '@booking/service-kit': source('./libs/service-kit/src/index.ts'),
    },
  },
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 2,
    globalSetup: ['./test/global-setup.ts'],
    reporters: ['default', './test/summary-reporter.ts'],
    // Each project sets its whole include: a project's lists are appended to the root's, never replace them.
    projects: [
      { extends: true, test: { name: 'quick', include: TESTS, exclude: [...configDefaults.exclude, ...SLOW] } },
      { extends: true, test: { name: 'slow', include: SLOW } },
    ],
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
