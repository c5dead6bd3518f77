import { writeSync } from 'node:fs';
import type { Reporter, TestModule, TestRunEndReason } from 'vitest/node';

/**
 * Prints the plain last line CI reads, `N passed, N failed` (skipped tests, if any, on the line
 * before it, so the last line keeps one shape). It is written as the process exits, after
 * everything vitest prints, including an error thrown by global setup after the run has ended.
 */
export default class SummaryReporter implements Reporter {
  private lines: string | undefined;

  onTestRunEnd(modules: ReadonlyArray<TestModule>, errors: ReadonlyArray<unknown>, reason: TestRunEndReason) {
    const counts = { passed: 0, failed: 0, skipped: 0 };
    for (const module of modules) {
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed') counts.passed += 1;
        else if (state === 'failed') counts.failed += 1;
        else counts.skipped += 1;
      }
      // A file that failed to load has no tests but must not pass silently.
      if (module.state() === 'failed' && [...module.children.allTests()].length === 0) counts.failed += 1;
    }
    counts.failed += errors.length;
    // A run that failed outside any test (global setup could not reach PostgreSQL) is not a pass.
    if (reason === 'failed' && counts.failed === 0) counts.failed = 1;
    const skipped = counts.skipped > 0 ? `${counts.skipped} skipped\n` : '';
    if (this.lines === undefined) process.once('exit', () => writeSync(1, this.lines ?? ''));
    this.lines = `\n${skipped}${counts.passed} passed, ${counts.failed} failed\n`;
  }
}
