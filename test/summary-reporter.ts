import { writeSync } from 'node:fs';
import type { Reporter, TestModule } from 'vitest/node';

/**
 * Ends the run's output with one plain line, "tests: N passed, N failed[, N skipped]",
 * written as the process exits so it stays last, after the coverage report.
 */
export default class SummaryReporter implements Reporter {
  private line = '';

  constructor() {
    process.once('exit', () => this.line && writeSync(1, `\n${this.line}\n`));
  }

  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const count = { passed: 0, failed: 0, skipped: 0 };
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
    }
    const skipped = count.skipped ? `, ${count.skipped} skipped` : '';
    this.line = `tests: ${count.passed} passed, ${count.failed} failed${skipped}`;
  }
}
