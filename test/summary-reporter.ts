import { mkdirSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import type { Reporter, TestModule, TestSpecification, Vitest } from 'vitest/node';

/** Each test file's duration in its last run, by path, for the next run's estimate. */
const DURATIONS_FILE = join(process.cwd(), 'node_modules', '.cache', 'booking-tests', 'durations.json');

function readDurations(): Record<string, number> {
  try {
    return JSON.parse(readFileSync(DURATIONS_FILE, 'utf8')) as Record<string, number>;
  } catch {
    return {};
  }
}

/**
 * How long files of these durations take on `workers` workers when the longest start first (Vitest
 * starts the files that took longest last time first).
 */
export function estimateMs(durations: number[], workers: number): number {
  const loads = new Array<number>(Math.max(1, workers)).fill(0);
  for (const duration of [...durations].sort((a, b) => b - a)) {
    const least = loads.indexOf(Math.min(...loads));
    loads[least]! += duration;
  }
  return Math.max(...loads);
}

function formatDuration(ms: number): string {
  const seconds = Math.round(ms / 1000);
  return seconds < 90 ? `${seconds} s` : `${Math.round(seconds / 60)} min`;
}

/**
 * Starts the run's output with the number of test files and how long they should take (from the times of
 * the last run), and ends it with one plain line, "tests: N passed, N failed[, N skipped]", written as the
 * process exits so it stays last, after the coverage report.
 */
export default class SummaryReporter implements Reporter {
  private line = '';
  private workers = 1;
  private root = process.cwd();

  constructor() {
    process.once('exit', () => this.line && writeSync(1, `\n${this.line}\n`));
  }

  onInit(vitest: Vitest): void {
    this.workers = vitest.config.maxWorkers ?? 1;
    this.root = vitest.config.root;
  }

  onTestRunStart(specifications: ReadonlyArray<TestSpecification>): void {
    const files = [...new Set(specifications.map((specification) => specification.moduleId))];
    const known = readDurations();
    const durations = files.map((file) => known[relative(this.root, file)]);
    const measured = durations.filter((duration): duration is number => duration !== undefined);
    let expectation = 'no earlier run to estimate the duration from';
    if (measured.length > 0) {
      // A file without an earlier time counts as long as the median of the others.
      const median = [...measured].sort((a, b) => a - b)[Math.floor(measured.length / 2)]!;
      const estimate = estimateMs(
        durations.map((duration) => duration ?? median),
        this.workers,
      );
      expectation = `about ${formatDuration(estimate)} (from the last run's times)`;
    }
    writeSync(1, `\ntest files: ${files.length} on ${this.workers} workers, ${expectation}\n\n`);
  }

  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const count = { passed: 0, failed: 0, skipped: 0 };
    const durations = readDurations();
    for (const module of testModules) {
      const tests = [...module.children.allTests()];
      for (const testCase of tests) {
        const state = testCase.result().state;
        if (state === 'passed') count.passed++;
        else if (state === 'failed') count.failed++;
        else count.skipped++;
      }
      // A file that failed to load has no tests but must still count as a failure.
      if (module.state() === 'failed' && tests.length === 0) count.failed++;
      const duration = module.diagnostic().duration;
      if (duration > 0) durations[relative(this.root, module.moduleId)] = Math.round(duration);
    }
    const skipped = count.skipped ? `, ${count.skipped} skipped` : '';
    this.line = `tests: ${count.passed} passed, ${count.failed} failed${skipped}`;
    try {
      mkdirSync(dirname(DURATIONS_FILE), { recursive: true });
      writeFileSync(DURATIONS_FILE, `${JSON.stringify(durations, null, 1)}\n`);
    } catch {
      // Only the next run's estimate depends on it.
    }
  }
}
