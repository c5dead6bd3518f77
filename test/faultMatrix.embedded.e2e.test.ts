/**
 * Fault matrix, embedded database: a worker SIGKILLed mid-run leaves the PGlite lock file behind;
 * the next worker — on the same host and, in a container, with the same PID 1 — must take it over
 * once it goes stale and complete its run. Each CLI runs as PID 1 of its own PID namespace.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cleanUpAfterEach } from './helpers/harness.ts';
import {
  captureBaseline,
  expectInvariants,
  expectTrendUnchanged,
  namespacePids,
  openCase,
  parseSummary,
  runUnsharedCli,
  servedPages,
  unshareWorks,
} from './helpers/faultMatrix.ts';

const cleanUp = cleanUpAfterEach();
const canUnshare = await unshareWorks();
const why = canUnshare ? '' : ' (skipped: `unshare --pid --fork` is not permitted here; needs root or unprivileged user namespaces)';

describe('fault matrix: embedded database', () => {
  it.skipIf(!canUnshare)(
    `SIGKILL mid-run as PID 1: the next PID-1 worker takes the stale lock over and succeeds${why}`,
    async () => {
      const c = await openCase(cleanUp, { devices: 600, seed: 301, oauth: true, database: false, cliRate: { limit: 4, windowMs: 500 } });
      const dir = mkdtempSync(join(tmpdir(), 'metaaccess-faultmatrix-'));
      cleanUp(async () => rmSync(dir, { recursive: true, force: true }));
      const env = { ...c.env, PGLITE_DIR: join(dir, 'pglite') };

      // First worker: killed with SIGKILL while it pages through the list.
      const first = runUnsharedCli(['sync', '--json'], env, { cwd: dir, timeoutMs: 60_000 });
      cleanUp(async () => first.child.kill('SIGKILL'));
      let firstNsPids: number[] = [];
      c.sim.onPage((page) => {
        if (page !== 4 || firstNsPids.length) return;
        const pid = first.cliPid();
        if (pid === undefined) return;
        firstNsPids = namespacePids(pid);
        process.kill(pid, 'SIGKILL');
      });
      const killed = await first.done;
      c.sim.onPage(null);
      expect(firstNsPids.at(-1), 'the first CLI ran as PID 1 of its namespace').toBe(1);
      // unshare reports a child killed by a signal as 137, or (util-linux 2.38) as 1 after a sigprocmask complaint.
      expect(killed.code, `first worker: ${JSON.stringify({ code: killed.code, signal: killed.signal })}`).not.toBe(0);
      expect(killed.stdout, 'the killed worker printed no summary').toBe('');
      expect(killed.stderr).not.toMatch(/"message":"sync (failed|succeeded)"/);
      expect(existsSync(`${env.PGLITE_DIR}.lock`), 'the killed worker left its lock behind').toBe(true);
      const logFrom = c.sim.log.length;

      // Second worker, also PID 1 on the same host: waits out the stale lock (about 10 s), then runs.
      const second = runUnsharedCli(['sync', '--json'], env, { cwd: dir, timeoutMs: 60_000 });
      cleanUp(async () => second.child.kill('SIGKILL'));
      let secondNsPids: number[] = [];
      c.sim.onPage(() => {
        const pid = second.cliPid();
        if (!secondNsPids.length && pid !== undefined) secondNsPids = namespacePids(pid);
      });
      const started = performance.now();
      const result = await second.done;
      c.sim.onPage(null);
      const elapsed = performance.now() - started;
      expect(result.code, `exit ${result.code} after ${Math.round(elapsed)} ms\n${result.stderr.slice(-3000)}`).toBe(0);
      expect(secondNsPids.at(-1), 'the second CLI ran as PID 1 of its namespace').toBe(1);
      // (Run ids may jump: PostgreSQL's sequences skip ahead after a crash.)
      const summary = parseSummary(result);
      expect(summary).toMatchObject({ status: 'succeeded', devicesSeen: 600 });
      const runId = summary!.runId as number;
      // It resumed the killed run from its first uncommitted page, or started over: every page is read either way.
      const resumedAt = (summary!.resumePage as number | null) ?? 1;
      expect(servedPages(c.sim, logFrom).length + resumedAt - 1).toBeGreaterThanOrEqual(12);

      // The database, opened once both workers are gone.
      const { PGlite } = await import('@electric-sql/pglite');
      const pglite = await PGlite.create(env.PGLITE_DIR);
      cleanUp(() => pglite.close());
      c.hasDatabase = true;
      c.query = async <T>(text: string, params?: unknown[]) => (await pglite.query<T>(text, params)).rows as never;
      await expectInvariants(c, { result, runId, exitCode: 0, status: 'succeeded', errorCode: null });
      const runs = await c.query<{ id: number; status: string }>(`select id, status from metaaccess.sync_runs order by id`);
      expect(runs.map((r) => r.status)).toEqual(['abandoned', 'succeeded']);
      expect(runs[1]!.id).toBe(runId);
      // The killed run left no trend rows; the daily figures are the second run's.
      await expectTrendUnchanged(c, runs[0]!.id, await captureBaseline(c));
      expect(await c.query(`select run_id from metaaccess.compliance_daily`)).toEqual([{ run_id: runId }]);
      expect((await c.query<{ n: number }>(`select count(*)::int as n from metaaccess.snapshots where run_id = $1`, [runId]))[0]!.n).toBe(
        600,
      );
    },
    90_000,
  );
});
