import { createSimulator } from '../simulator/simulator.ts';
import type { Command } from './command.ts';
import { loadCommandConfig } from './context.ts';
import { intFlag, parseFlags } from './flags.ts';

const SIMULATOR_TOKEN = 'simulator-token';

export const simulateCommand: Command = {
  name: 'simulate',
  summary: 'serve the built-in MetaAccess API simulator on 127.0.0.1 until stopped',
  help: `Usage: metaaccess-sync simulate [--port N] [--devices N] [--rate-limit N] [--rate-window-ms MS]

Serves the simulated MetaAccess account used by \`demo\` and the tests, so that \`sync\` and
\`schedule\` can be tried against it from another terminal:

  METAACCESS_URL=http://127.0.0.1:8080 METAACCESS_ACCESS_TOKEN=${SIMULATOR_TOKEN} \\
  METAACCESS_RATE_WINDOW_MS=1000 SYNC_CRON='*/20 * * * * *' node dist/cli.js schedule

Options:
  --port N             port on 127.0.0.1 (default 8080)
  --devices N          devices in the account (default 1000)
  --rate-limit N       requests allowed per window (default 10)
  --rate-window-ms MS  window length (default 1000)

Stops on SIGINT/SIGTERM.
`,
  async run(args, ctx) {
    const flags = parseFlags(args, {
      port: { type: 'string' },
      devices: { type: 'string' },
      'rate-limit': { type: 'string' },
      'rate-window-ms': { type: 'string' },
    });
    const port = intFlag(flags.port, 'port', 8080, 0, 65_535);
    const devices = intFlag(flags.devices, 'devices', 1000, 0, 1_000_000);
    const limit = intFlag(flags['rate-limit'], 'rate-limit', 10, 1, 10_000);
    const windowMs = intFlag(flags['rate-window-ms'], 'rate-window-ms', 1000, 10, 3_600_000);
    const { logger } = loadCommandConfig(ctx, false);
    const simulator = createSimulator({
      devices,
      seed: 2026,
      rateLimit: { limit, windowMs },
      latencyMs: 15,
      jitterMs: 10,
      auth: { token: SIMULATOR_TOKEN },
    });
    const url = await simulator.start(port);
    logger.info('simulator listening', { url, devices, rateLimit: limit, rateWindowMs: windowMs, accessToken: 'see --help' });
    ctx.stdout.write(
      `METAACCESS_URL=${url} METAACCESS_ACCESS_TOKEN=${SIMULATOR_TOKEN} METAACCESS_RATE_LIMIT=${limit} METAACCESS_RATE_WINDOW_MS=${windowMs}\n`,
    );
    await new Promise<void>((resolve) => {
      if (ctx.signal.aborted) resolve();
      else ctx.signal.addEventListener('abort', () => resolve(), { once: true });
    });
    await simulator.close();
    logger.info('simulator stopped', simulator.stats());
    return 0;
  },
  stopNotice: (signal) => `${signal} received, stopping the simulator (again to exit now)`,
};
