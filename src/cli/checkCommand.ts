import type { Config } from '../config/config.ts';
import { ConfigError } from '../lib/errors.ts';
import { ConfigProblems } from '../config/config.ts';
import { createLogger } from '../lib/logger.ts';
import { checkApi, CHECK_TIMEOUT_MS, type ApiFacts } from './checkApi.ts';
import { describeVariables, variablesText, wrapWords, type VariableFact } from './checkConfig.ts';
import { checkDatabase, type DatabaseFacts } from './checkDatabase.ts';
import type { Command } from './command.ts';
import { loadCommandConfig, type CliContext } from './context.ts';
import { parseFlags } from './flags.ts';
import { formatDuration } from './format.ts';

const HELP = `Usage: metaaccess-sync check [--json]

Tries the setup before the night, on one screen:
  configuration  the variables set (environment, .env file), the secrets only as set/unset (and
                 via which *_FILE), METAACCESS_URL and the database; the rest by name on one
                 line "at their defaults" (--json lists every value and where it came from)
  database       which one (the URL without its password, or the embedded directory), reachable,
                 migrated (applied N of M). Creates nothing: an embedded database that does not
                 exist yet, or a PostgreSQL database without the schema yet, is fine (the first
                 sync creates it); migrations pending fail (run \`migrate\` as the schema owner).
  api            one page of the device list from METAACCESS_URL: HTTP status, latency, and what
                 it proved. It costs 1 request of the account's rate limit (2 with client
                 credentials: the token, then the page); no retries, at most ${CHECK_TIMEOUT_MS / 1000} s. While a sync
                 runs on the database (it holds the run lock) no request is sent: the run's
                 budget is left alone, and the API line says it was skipped.
  rate           what the rate settings mean: pages per minute, and how long a run of the last
                 known device count takes

Options:
  --json   print the same facts as one JSON object to stdout

Exit codes: 0 every check passed (or was skipped), 1 a check failed, 2 bad configuration (every
problem is listed).
`;

interface RateFacts {
  limit: number;
  windowMs: number;
  pageSize: number;
  timeoutMs: number;
  maxRetries: number;
  pagesPerMinute: number;
  devicesPerMinute: number;
  lastDeviceCount: number | null;
  estimatedRunMs: number | null;
  lines: string[];
}

export const checkCommand: Command = {
  name: 'check',
  summary: 'check the configuration, the database and one API request; change nothing',
  help: HELP,
  async run(args, ctx) {
    const flags = parseFlags(args, { json: { type: 'boolean' } });
    const json = Boolean(flags.json);
    let config: Config;
    try {
      config = loadCommandConfig(ctx, true).config;
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      return writeConfigProblems(ctx, err, json);
    }
    // Only errors: the screen below is the report, and with no retries the source has little to log.
    const logger = createLogger({ level: 'error', format: config.logFormat, stream: ctx.stderr });
    const variables = describeVariables(config, ctx.env);
    const database = await checkDatabase(config);
    const skip = database.runInProgress
      ? 'a sync is running on this database; one more request could push it into a 429 (run check again once it is done)'
      : undefined;
    const api = await checkApi(config, logger, skip, ctx.signal);
    const rate = rateFacts(config, database);
    const exitCode = database.ok && api.ok ? 0 : 1;
    if (json)
      ctx.stdout.write(
        JSON.stringify(
          {
            ok: exitCode === 0,
            exitCode,
            configuration: { ok: true, problems: [], variables },
            database: strip(database),
            api: strip(api),
            rate: strip(rate),
          },
          null,
          2,
        ) + '\n',
      );
    else ctx.stdout.write(screen(variables, database, api, rate, exitCode));
    return exitCode;
  },
};

function strip<T extends { lines: string[] }>(facts: T): Omit<T, 'lines'> {
  const { lines: _lines, ...rest } = facts;
  return rest;
}

function writeConfigProblems(ctx: CliContext, err: ConfigError, json: boolean): number {
  const problems = err instanceof ConfigProblems ? err.problems : [err];
  if (json) {
    const listed = problems.map((p) => ({ variable: p.variable, message: p.message }));
    ctx.stdout.write(JSON.stringify({ ok: false, exitCode: 2, configuration: { ok: false, problems: listed } }, null, 2) + '\n');
  } else {
    ctx.stdout.write(
      [
        `configuration: FAILED (${problems.length} problem${problems.length === 1 ? '' : 's'})`,
        ...problems.flatMap((p) => wrapWords(p.message, 80, '  ', '    ')),
        '',
        'result: bad configuration (exit 2); database and API not tried',
      ].join('\n') + '\n',
    );
  }
  return 2;
}

function rateFacts(config: Config, database: DatabaseFacts): RateFacts {
  const lastDeviceCount = database.lastDeviceCount;
  const { rateLimit: limit, rateWindowMs: windowMs, pageSize, timeoutMs, maxRetries } = config.api;
  const pagesPerMinute = Math.round(((limit * 60_000) / windowMs) * 10) / 10;
  const devicesPerMinute = Math.round(pagesPerMinute * pageSize);
  // One request per page, plus the one past the last that ends the list; the first `limit` leave at once.
  const pages = lastDeviceCount === null ? null : Math.ceil(lastDeviceCount / pageSize) + 1;
  const estimatedRunMs = pages === null ? null : Math.max(0, Math.ceil(pages / limit) - 1) * windowMs;
  const lines = [
    `${limit} requests per ${formatDuration(windowMs)}, page size ${pageSize}: at most ${pagesPerMinute} pages (${devicesPerMinute} devices) a minute`,
    `timeout ${formatDuration(timeoutMs)}, up to ${maxRetries} retries with backoff; check: 1 try, timeout ${formatDuration(Math.min(timeoutMs, CHECK_TIMEOUT_MS))}`,
    pages !== null
      ? `a run of the last succeeded run's ${lastDeviceCount} devices: ${pages} pages, ${estimatedRunMs ? `about ${formatDuration(estimatedRunMs)} of rate-limit waiting` : 'all within one window'} (+1 request per device confirmed removed)`
      : database.runsRead
        ? 'no succeeded run yet: no device count to estimate a run from'
        : `device count unknown (${database.unread ?? 'the database was not read'}): no run estimate`,
  ];
  return { limit, windowMs, pageSize, timeoutMs, maxRetries, pagesPerMinute, devicesPerMinute, lastDeviceCount, estimatedRunMs, lines };
}

/** One screen at 80 columns: a long line wraps under its own indentation. */
function screen(variables: VariableFact[], database: DatabaseFacts, api: ApiFacts, rate: RateFacts, exitCode: number): string {
  const state = (ok: boolean, skipped = false) => (skipped ? 'skipped' : ok ? 'ok' : 'FAILED');
  const failed = [!database.ok && 'database', !api.ok && 'api'].filter(Boolean);
  const indented = (lines: string[]) => lines.flatMap((line) => wrapWords(line, 80, '  ', '    '));
  return (
    [
      'configuration: ok',
      ...variablesText(variables),
      '',
      `database: ${state(database.ok)}: ${database.location}`,
      ...indented(database.lines),
      '',
      `api: ${state(api.ok, api.skipped)}: ${api.host}`,
      ...indented(api.lines),
      '',
      'rate:',
      ...indented(rate.lines),
      '',
      exitCode === 0 ? 'result: ok (exit 0)' : `result: ${failed.join(' and ')} failed (exit 1)`,
    ].join('\n') + '\n'
  );
}
