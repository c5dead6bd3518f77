import { CONFIG_VARIABLES, SECRET_VARIABLES, type Config, type Env } from '../config/config.ts';
import { variableOrigins, type VariableSource } from '../config/sources.ts';
import { formatDuration } from './format.ts';

/** One variable as `check` shows it: a secret's value is never part of it, only whether it is set. */
export interface VariableFact {
  name: string;
  /** The effective value; for a secret "set" or "unset". */
  value: string;
  source: VariableSource;
  /** A secret read from the file this variable names. */
  viaFile?: string;
  secret: boolean;
  /** Why the value has no effect here (e.g. PGLITE_DIR while DATABASE_URL is set). */
  unused?: string;
}

/** A duration the way SYNC_RESUME_WITHIN is written (6h, 90m, 2d), in the largest unit that fits. */
function asWritten(ms: number): string {
  const units: Array<[string, number]> = [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ];
  const [unit, size] = units.find(([, size]) => ms % size === 0) ?? ['s', 1000];
  return `${ms / size}${unit}`;
}

/** The effective value of each non-secret variable, as parsed (defaults included). */
function effectiveValues(config: Config): Record<string, string> {
  const { api, sync } = config;
  return {
    METAACCESS_URL: api.url,
    METAACCESS_RATE_LIMIT: String(api.rateLimit),
    METAACCESS_RATE_WINDOW_MS: `${api.rateWindowMs} (${formatDuration(api.rateWindowMs)})`,
    METAACCESS_PAGE_SIZE: String(api.pageSize),
    METAACCESS_TIMEOUT_MS: `${api.timeoutMs} (${formatDuration(api.timeoutMs)})`,
    METAACCESS_MAX_RETRIES: String(api.maxRetries),
    METAACCESS_MAX_RESPONSE_BYTES: String(api.maxResponseBytes),
    METAACCESS_ALLOW_INSECURE: String(api.allowInsecure),
    SYNC_CRON: sync.cron,
    SYNC_TIMEZONE: sync.timezone,
    SYNC_ON_START: String(sync.onStart),
    SNAPSHOT_RETENTION_DAYS: String(sync.snapshotRetentionDays),
    REMOVAL_GUARD_PERCENT: String(sync.removalGuardPercent),
    REMOVAL_CONFIRM: sync.removalConfirm,
    SYNC_RESUME_WITHIN: sync.resumeWithinMs === 0 ? '0 (never resume)' : asWritten(sync.resumeWithinMs),
    HTTP_PORT: String(config.httpPort),
    LOG_LEVEL: config.logLevel,
    LOG_FORMAT: config.logFormat,
    // The database section names the resolved directory.
    PGLITE_DIR: config.pgliteDir,
  };
}

/** Secrets: whether each is set. Credentials are judged as parsed, so an unused pair does not read as set. */
function secretSet(config: Config, name: string): boolean {
  const creds = config.api.credentials;
  if (name === 'DATABASE_URL') return config.databaseUrl !== undefined;
  if (name === 'METAACCESS_ACCESS_TOKEN') return creds.kind === 'token';
  return creds.kind === 'oauth';
}

function unusedBecause(config: Config, name: string): string | undefined {
  if (name === 'PGLITE_DIR' && config.databaseUrl) return 'DATABASE_URL is set';
  return undefined;
}

/** Every variable the worker reads, with its effective value and where it came from. */
export function describeVariables(config: Config, processEnv: Env, dotenvPath = '.env'): VariableFact[] {
  const origins = variableOrigins(CONFIG_VARIABLES, processEnv, dotenvPath);
  const values = effectiveValues(config);
  return CONFIG_VARIABLES.map((name) => {
    const secret = SECRET_VARIABLES.includes(name);
    const origin = origins[name]!;
    const unused = unusedBecause(config, name);
    return {
      name,
      value: secret ? (secretSet(config, name) ? 'set' : 'unset') : (values[name] ?? ''),
      source: origin.source,
      ...(origin.viaFile ? { viaFile: origin.viaFile } : {}),
      secret,
      ...(unused ? { unused } : {}),
    };
  });
}

/** Shown even at their defaults: where the data goes, where it comes from, and with which credentials. */
const ALWAYS_SHOWN = new Set(['METAACCESS_URL', 'PGLITE_DIR']);

/**
 * The screen's rows: what was set, the secrets (set/unset) and the few that matter most; the rest
 * by name only, on one wrapped line. `--json` lists every variable.
 */
export function variablesText(facts: VariableFact[], columns = 80): string[] {
  const shown = facts.filter((f) => f.source !== 'default' || f.secret || (ALWAYS_SHOWN.has(f.name) && !f.unused));
  const rest = facts.filter((f) => !shown.includes(f)).map((f) => f.name);
  const width = Math.max(...shown.map((f) => f.name.length));
  const rows = shown.map((f) => {
    const from = f.viaFile ? `via ${f.viaFile}, ${f.source}` : f.source;
    return `  ${f.name.padEnd(width)}  ${f.value}  [${from}]${f.unused ? `  (unused: ${f.unused})` : ''}`;
  });
  return rest.length ? [...rows, ...wrapWords(`at their defaults: ${rest.join(', ')}`, columns, '  ', '    ')] : rows;
}

/** Words on lines of at most `columns` characters (a longer word gets a line of its own). */
export function wrapWords(text: string, columns: number, first: string, next: string): string[] {
  const lines: string[] = [];
  let line = first;
  for (const word of text.split(' ')) {
    const blank = line === first || line === next;
    if (!blank && line.length + 1 + word.length > columns) {
      lines.push(line);
      line = next + word;
    } else line += (blank ? '' : ' ') + word;
  }
  return [...lines, line];
}
