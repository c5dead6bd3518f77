import { defineConfig } from 'vitest/config';
import SummaryReporter from './test/summaryReporter.ts';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    globalSetup: ['./test/globalSetup.ts'],
    reporters: ['default', new SummaryReporter()],
    // One file at a time: end-to-end tests measure a rate limit against a simulator on the same
    // 2-core machine, and CPU contention from other files would skew its arrival clock.
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
