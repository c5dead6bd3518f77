import { availableParallelism } from 'node:os';
import { configDefaults, defineConfig } from 'vitest/config';
import { testDbPrefix } from './test/helpers/testDbPrefix.ts';
import SummaryReporter from './test/summaryReporter.ts';

testDbPrefix();

/**
 * Unit tests that measure time against a real clock (rate windows at the simulator, lock and
 * cron timings): on a loaded 2-core machine a parallel neighbour skews their arrival clock (a
 * token test once counted 61 requests instead of 60), so they run one file at a time.
 */
const TIMED = [
  'src/db/fileLock.test.ts',
  'src/scheduler/scheduler.test.ts',
  'src/simulator/account.test.ts',
  'src/simulator/simulator.test.ts',
  'src/simulator/staticFleet.test.ts',
  'src/source/failFast.test.ts',
  'src/source/pager.test.ts',
  'src/source/tokenProvider.test.ts',
];

const timeouts = { testTimeout: 60_000, hookTimeout: 120_000 };

/**
 * Three projects (`npx vitest run --project unit`):
 * - unit: src/ tests beside pure modules, no database, files in parallel (worker threads);
 * - timed: the src/ tests in TIMED, no database, one file at a time;
 * - e2e: test/, on real PostgreSQL (global setup makes the template database), one file at a time.
 * unit runs first (groupOrder 0); timed and e2e then share the forks pool, capped at one fork, so
 * no two of their files ever overlap, and nothing overlaps them.
 */
export default defineConfig({
  test: {
    reporters: ['default', new SummaryReporter()],
    poolOptions: {
      threads: { maxThreads: availableParallelism(), minThreads: 1 },
      forks: { maxForks: 1, minForks: 1 },
    },
    projects: [
      {
        test: {
          ...timeouts,
          name: 'unit',
          pool: 'threads',
          include: ['src/**/*.test.ts'],
          exclude: [...configDefaults.exclude, ...TIMED],
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: { ...timeouts, name: 'timed', pool: 'forks', include: TIMED, sequence: { groupOrder: 1 } },
      },
      {
        test: {
          ...timeouts,
          name: 'e2e',
          pool: 'forks',
          include: ['test/**/*.test.ts'],
          globalSetup: ['./test/globalSetup.ts'],
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
