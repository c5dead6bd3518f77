import { and, count, eq } from 'drizzle-orm';
import type { Config } from '../config/config.ts';
import type { Database } from '../db/openDatabase.ts';
import { syncRuns } from '../db/schema.ts';
import { startSimulatorThread } from '../simulator/simulatorThread.ts';
import type { Command } from './command.ts';
import { describeDatabase, loadCommandConfig, withDatabase } from './context.ts';
import { intFlag, parseFlags } from './flags.ts';
import { summaryJson, summaryText } from './format.ts';
import { exitCodeOf, syncOnce } from './syncCommand.ts';

export const demoCommand: Command = {
  name: 'demo',
  summary: 'sync the built-in MetaAccess simulator into the database and print the summary',
  help: `Usage: metaaccess-sync demo [--devices N] [--rate-limit N] [--rate-window-ms MS] [--json]

Starts the built-in MetaAccess API simulator on 127.0.0.1 (OAuth client credentials, a strict
sliding-window rate limit, realistic desktops, servers and phones), syncs it into the configured
database — the embedded PGlite database in ./data/pglite unless DATABASE_URL is set — and prints
the run summary. Each further demo run finds the simulated account changed (devices enrolled,
removed and changed), so added/changed/removed counts and history show up.

Options:
  --devices N          devices in the simulated account (default 1000)
  --rate-limit N       requests per window the simulator allows (default 10)
  --rate-window-ms MS  window length (default 1000, so the demo takes seconds, not minutes)
  --json               print the run summary as JSON to stdout
`,
  async run(args, ctx) {
    const flags = parseFlags(args, {
      devices: { type: 'string' }, 'rate-limit': { type: 'string' }, 'rate-window-ms': { type: 'string' }, json: { type: 'boolean' },
    });
    const devices = intFlag(flags.devices, 'devices', 1000, 0, 1_000_000);
    const limit = intFlag(flags['rate-limit'], 'rate-limit', 10, 1, 10_000);
    const windowMs = intFlag(flags['rate-window-ms'], 'rate-window-ms', 1000, 10, 3_600_000);
    const { config, logger } = loadCommandConfig(ctx, false);
    const summary = await withDatabase(config, async (database) => {
      const generation = await previousDemoRuns(database);
      const simulator = await startSimulatorThread({
        devices, seed: 2026, rateLimit: { limit, windowMs }, latencyMs: 15, jitterMs: 10,
        auth: { clientId: 'demo-client', clientSecret: 'demo-secret-do-not-log' },
      }, generation);
      try {
        logger.info('demo: simulated account ready', { url: simulator.url, devices: simulator.devices, generation });
        return await syncOnce(demoConfig(config, simulator.url, limit, windowMs), database, logger, ctx, 'demo');
      } finally {
        await simulator.close();
      }
    });
    if (flags.json) ctx.stdout.write(JSON.stringify(summaryJson(summary), null, 2) + '\n');
    else ctx.stdout.write(`${summaryText(summary)}  database: ${describeDatabase(config)}\n  next: \`node dist/cli.js runs\` lists every run; run the demo again to see changes\n`);
    return exitCodeOf(summary, ctx.signal);
  },
};

async function previousDemoRuns(database: Database): Promise<number> {
  const [row] = await database.db.select({ n: count() }).from(syncRuns)
    .where(and(eq(syncRuns.trigger, 'demo'), eq(syncRuns.status, 'succeeded')));
  return row?.n ?? 0;
}

function demoConfig(config: Config, url: string, rateLimit: number, rateWindowMs: number): Config {
  return {
    ...config,
    api: { ...config.api, url, rateLimit, rateWindowMs, credentials: { kind: 'oauth', clientId: 'demo-client', clientSecret: 'demo-secret-do-not-log' } },
  };
}
