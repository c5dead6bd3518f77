import { and, count, eq, gt, max } from 'drizzle-orm';
import type { Database } from '../db/openDatabase.ts';
import { syncRuns } from '../db/schema.ts';
import { startSimulatorThread, type SimulatorThread } from '../simulator/simulatorThread.ts';
import type { Command } from './command.ts';
import { describeDatabase, loadCommandConfig, withDatabase } from './context.ts';
import { DEMO_DAYS_TRIGGER, demoConfig, demoSimulatorOptions, MAX_DEMO_DAYS, runDemoDays } from './demoDays.ts';
import { intFlag, parseFlags } from './flags.ts';
import { summaryJson, summaryText } from './format.ts';
import { exitCodeOf, syncOnce } from './syncCommand.ts';

/** Set while `demo --days` writes its nights: a stop then keeps the nights already written. */
let writingDays = false;

export const demoCommand: Command = {
  name: 'demo',
  summary: 'sync the built-in MetaAccess simulator into the database and print the summary',
  help: `Usage: metaaccess-sync demo [--devices N] [--seed N] [--rate-limit N] [--rate-window-ms MS] [--json]
       metaaccess-sync demo --days N [--devices N] [--seed N] [--rate-limit N] [--rate-window-ms MS] [--json]

Starts the built-in MetaAccess API simulator on 127.0.0.1 (OAuth client credentials, a strict
sliding-window rate limit, realistic desktops, servers and phones), syncs it into the configured
database — the embedded PGlite database in ./data/pglite unless DATABASE_URL is set — and prints
the run summary. Each further demo run finds the simulated account changed (devices enrolled,
removed and changed), so added/changed/removed counts and history show up.

With --days N it writes N days of history instead: one real sync per simulated night, at 02:00
(SYNC_TIMEZONE) on each of the last N nights (today's too once 02:00 has passed), through the
same sync as \`sync\` (pages, removals confirmed by Device Details, snapshots, daily figures).
Between nights the account lives a day: compliance drifts with a slow trend and a couple of bad
patch days, devices enrol and leave, change IP address, install OS and agent updates in waves.
The same --seed and --devices give the same history. A database that already has runs on or
after the first of those days is refused (use a fresh one: another PGLITE_DIR or DATABASE_URL),
unless all its runs are demo runs: it is then emptied and replaced (stderr says so). A
plain \`demo\` afterwards continues the same account one day further (give it the same --devices
and --seed).

Options:
  --days N             write N days of history, 1..${MAX_DEMO_DAYS} (progress on stderr every 10 days)
  --devices N          devices in the simulated account (default 1000)
  --seed N             the simulated account (default 2026)
  --rate-limit N       requests per window the simulator allows (default 10; 50 with --days)
  --rate-window-ms MS  window length (default 1000, so the demo takes seconds, not minutes)
  --json               print the run summary (with --days: the history's summary) as JSON to stdout
`,
  async run(args, ctx) {
    const flags = parseFlags(args, {
      devices: { type: 'string' },
      seed: { type: 'string' },
      days: { type: 'string' },
      'rate-limit': { type: 'string' },
      'rate-window-ms': { type: 'string' },
      json: { type: 'boolean' },
    });
    const days = flags.days === undefined ? undefined : intFlag(flags.days, 'days', 0, 1, MAX_DEMO_DAYS);
    const devices = intFlag(flags.devices, 'devices', 1000, 0, 1_000_000);
    const seed = intFlag(flags.seed, 'seed', 2026, 0, 2_147_483_647);
    const limit = intFlag(flags['rate-limit'], 'rate-limit', days === undefined ? 10 : 50, 1, 10_000);
    const windowMs = intFlag(flags['rate-window-ms'], 'rate-window-ms', 1000, 10, 3_600_000);
    if (days !== undefined) {
      writingDays = true;
      try {
        return await runDemoDays({ days, devices, seed, limit, windowMs, json: Boolean(flags.json) }, ctx);
      } finally {
        writingDays = false;
      }
    }
    const { config, logger } = loadCommandConfig(ctx, false);
    const summary = await withDatabase(config, async (database) => {
      const simulator = await startDemoSimulator(database, { devices, seed, rateLimit: { limit, windowMs } });
      try {
        logger.info('demo: simulated account ready', {
          url: simulator.url,
          devices: simulator.devices,
          generation: simulator.generation,
          day: simulator.day,
        });
        return await syncOnce(demoConfig(config, simulator.url, limit, windowMs), database, logger, ctx, 'demo');
      } finally {
        await simulator.close();
      }
    });
    if (flags.json) ctx.stdout.write(JSON.stringify(summaryJson(summary), null, 2) + '\n');
    else
      ctx.stdout.write(
        `${summaryText(summary)}  database: ${describeDatabase(config)}\n  next: \`node dist/cli.js runs\` lists every run; run the demo again to see changes\n`,
      );
    return exitCodeOf(summary, ctx.signal);
  },
  // A plain demo is a sync: the generic notice fits it.
  stopNotice: (signal) =>
    writingDays
      ? `${signal} received, stopping once the night's pages received are stored; the nights written so far stay (again to exit now)`
      : undefined,
};

/**
 * The account as the database last saw it: `generation` demo runs on from the generated one, or,
 * after a `demo --days` history, the history's next day (one more per demo run since it).
 */
async function startDemoSimulator(database: Database, options: Parameters<typeof demoSimulatorOptions>[0]) {
  const nights = await succeededRuns(database, DEMO_DAYS_TRIGGER);
  const demos = await succeededRuns(database, 'demo', nights > 0 ? await lastRunOf(database, DEMO_DAYS_TRIGGER) : 0);
  const generation = nights > 0 ? 0 : demos;
  const simulator: SimulatorThread = await startSimulatorThread(demoSimulatorOptions(options), generation);
  const day = nights > 0 ? nights + demos : undefined;
  const report = day === undefined ? undefined : await simulator.goToDay(day, Date.now());
  return { ...simulator, devices: report?.devices ?? simulator.devices, generation, day };
}

/** Succeeded runs of `trigger` after run `afterId`. */
async function succeededRuns(database: Database, trigger: string, afterId = 0): Promise<number> {
  const [row] = await database.db
    .select({ n: count() })
    .from(syncRuns)
    .where(and(eq(syncRuns.trigger, trigger), eq(syncRuns.status, 'succeeded'), gt(syncRuns.id, afterId)));
  return row?.n ?? 0;
}

async function lastRunOf(database: Database, trigger: string): Promise<number> {
  const [row] = await database.db
    .select({ id: max(syncRuns.id) })
    .from(syncRuns)
    .where(eq(syncRuns.trigger, trigger));
  return row?.id ?? 0;
}
