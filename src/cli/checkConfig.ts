import { resolve } from 'node:path';
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
    SYNC_RESUME_WITHIN: sync.resumeWithinMs === 0 ? '0 (never resume)' : `${sync.resumeWithinMs / 60_000} min`,
    HTTP_PORT: String(config.httpPort),
    LOG_LEVEL: config.logLevel,
    LOG_FORMAT: config.logFormat,
    PGLITE_DIR: `${config.pgliteDir} (${resolve(config.pgliteDir)})`,
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

export function variablesText(facts: VariableFact[]): string[] {
  const width = Math.max(...facts.map((f) => f.name.length));
  return facts.map((f) => {
    const from = f.viaFile ? `via ${f.viaFile}, ${f.source}` : f.source;
    return `  ${f.name.padEnd(width)}  ${f.value}  [${from}]${f.unused ? `  (unused: ${f.unused})` : ''}`;
  });
}
