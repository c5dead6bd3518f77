import { readFileSync } from 'node:fs';
import { parseEnv } from 'node:util';
import { ConfigError } from '../lib/errors.ts';
import { registerSecret } from '../lib/redact.ts';
import { cronProblem } from './cronFields.ts';
import { DEFAULT_URL, readApiUrl, readDatabaseUrl } from './urls.ts';

export type Env = Record<string, string | undefined>;
export type RemovalConfirm = 'lookup' | 'recheck' | 'next-run';
const REMOVAL_CONFIRMS: readonly RemovalConfirm[] = ['lookup', 'recheck', 'next-run'];

export type Credentials =
  { kind: 'token'; accessToken: string } | { kind: 'oauth'; clientId: string; clientSecret: string } | { kind: 'none' };

export interface Config {
  readonly databaseUrl: string | undefined;
  readonly pgliteDir: string;
  readonly api: {
    readonly url: string;
    readonly credentials: Credentials;
    readonly rateLimit: number;
    readonly rateWindowMs: number;
    readonly pageSize: number;
    readonly timeoutMs: number;
    readonly maxRetries: number;
    /** Largest response body accepted, counted after decompression. */
    readonly maxResponseBytes: number;
    /** METAACCESS_ALLOW_INSECURE: plain http:// may be used for hosts that are not loopback. */
    readonly allowInsecure: boolean;
    /** The URL is http:// to a host that is not loopback (allowed only by allowInsecure): warn about it. */
    readonly insecure: boolean;
  };
  readonly sync: {
    readonly cron: string;
    readonly timezone: string;
    readonly onStart: boolean;
    readonly snapshotRetentionDays: number;
    readonly removalGuardPercent: number;
    readonly removalConfirm: RemovalConfirm;
    /** An interrupted run stopped no longer ago than this is resumed; 0: never. */
    readonly resumeWithinMs: number;
  };
  readonly httpPort: number;
  readonly logLevel: string;
  readonly logFormat: 'json' | 'pretty';
}

/** Every variable the worker reads; deployment examples and docs are checked against this list. */
export const CONFIG_VARIABLES = [
  'DATABASE_URL',
  'METAACCESS_URL',
  'METAACCESS_ACCESS_TOKEN',
  'METAACCESS_CLIENT_ID',
  'METAACCESS_CLIENT_SECRET',
  'METAACCESS_RATE_LIMIT',
  'METAACCESS_RATE_WINDOW_MS',
  'METAACCESS_PAGE_SIZE',
  'METAACCESS_TIMEOUT_MS',
  'METAACCESS_MAX_RETRIES',
  'METAACCESS_MAX_RESPONSE_BYTES',
  'METAACCESS_ALLOW_INSECURE',
  'SYNC_CRON',
  'SYNC_TIMEZONE',
  'SYNC_ON_START',
  'SNAPSHOT_RETENTION_DAYS',
  'REMOVAL_GUARD_PERCENT',
  'REMOVAL_CONFIRM',
  'SYNC_RESUME_WITHIN',
  'HTTP_PORT',
  'LOG_LEVEL',
  'LOG_FORMAT',
  'PGLITE_DIR',
] as const;

/** Never shown: `check` says only whether each is set. Each may also come from a file (`X_FILE`). */
export const SECRET_VARIABLES: readonly string[] = [
  'DATABASE_URL',
  'METAACCESS_ACCESS_TOKEN',
  'METAACCESS_CLIENT_ID',
  'METAACCESS_CLIENT_SECRET',
];
const LOG_LEVELS: readonly string[] = ['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly'];

export interface LoadOptions {
  /** Credentials are required only by commands that call the API. */
  requireCredentials?: boolean;
  /** Whether stderr is a terminal (decides the default log format). */
  isTty?: boolean;
}

/** Reads `.env` (if present) under the real environment; the real environment wins. */
export function readEnvironment(processEnv: Env, dotenvPath = '.env'): Env {
  return { ...readDotenv(dotenvPath), ...processEnv };
}

/** The variables of a .env file; none when there is no file. */
export function readDotenv(dotenvPath = '.env'): Env {
  try {
    return parseEnv(readFileSync(dotenvPath, 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
      throw new ConfigError('.env', `cannot read ${dotenvPath}: ${(err as Error).message}`);
    return {};
  }
}

/**
 * Parses and validates the environment. Every problem is collected, so one run of a command shows
 * all of them: one ConfigError as it is, several as a ConfigProblems listing each on its own line.
 */
export function loadConfig(env: Env, options: LoadOptions = {}): Config {
  const problems: ConfigError[] = [];
  /** `read()`, or `fallback` with the problem noted: the other variables are still checked. */
  const check = <T>(read: () => T, fallback: T): T => {
    try {
      return read();
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      problems.push(err);
      return fallback;
    }
  };
  const get = (name: string) => check(() => readValue(env, name), undefined);
  const int = (name: string, fallback: number, min: number, max: number) => check(() => readInt(get, name, fallback, min, max), fallback);
  const bool = (name: string, fallback: boolean) => check(() => readBool(get, name, fallback), fallback);
  const oneOf = <T extends string>(name: string, fallback: T, allowed: readonly T[], says: string): T =>
    check(() => {
      const value = get(name) ?? fallback;
      if (!(allowed as readonly string[]).includes(value)) throw new ConfigError(name, `"${value}" ${says}`);
      return value as T;
    }, fallback);

  const none: Credentials = { kind: 'none' };
  const credentials = check(() => readCredentials(get), none);
  if (
    options.requireCredentials
    && credentials.kind === 'none'
    && !problems.some((p) => p.variable.startsWith('METAACCESS_CLIENT') || p.variable.startsWith('METAACCESS_ACCESS'))
  ) {
    problems.push(
      new ConfigError(
        'METAACCESS_ACCESS_TOKEN',
        'no credentials: set METAACCESS_ACCESS_TOKEN, or METAACCESS_CLIENT_ID and METAACCESS_CLIENT_SECRET (or their *_FILE variants)',
      ),
    );
  }
  const databaseUrl = check(() => {
    const value = get('DATABASE_URL');
    return value === undefined ? undefined : readDatabaseUrl(value);
  }, undefined);
  const cronExpr = check(() => {
    const value = get('SYNC_CRON') ?? '0 2 * * *';
    const problem = cronProblem(value);
    if (problem) throw new ConfigError('SYNC_CRON', problem);
    return value;
  }, '0 2 * * *');
  const timezone = check(() => {
    const value = get('SYNC_TIMEZONE') ?? 'UTC';
    if (!isTimeZone(value)) throw new ConfigError('SYNC_TIMEZONE', `"${value}" is not an IANA time zone`);
    return value;
  }, 'UTC');
  const logLevel = oneOf('LOG_LEVEL', 'info', LOG_LEVELS, `is not one of ${LOG_LEVELS.join(', ')}`);
  const logFormat = oneOf<'json' | 'pretty'>('LOG_FORMAT', options.isTty ? 'pretty' : 'json', ['json', 'pretty'], 'must be json or pretty');
  const removalConfirm = oneOf('REMOVAL_CONFIRM', 'lookup', REMOVAL_CONFIRMS, 'must be lookup, recheck or next-run');
  const allowInsecure = bool('METAACCESS_ALLOW_INSECURE', false);
  const url = check(() => readApiUrl(get('METAACCESS_URL') ?? DEFAULT_URL, allowInsecure), { origin: DEFAULT_URL, insecure: false });

  const config: Config = {
    databaseUrl,
    pgliteDir: get('PGLITE_DIR') ?? './data/pglite',
    api: {
      url: url.origin,
      credentials,
      rateLimit: int('METAACCESS_RATE_LIMIT', 10, 1, 10_000),
      rateWindowMs: int('METAACCESS_RATE_WINDOW_MS', 60_000, 1, 86_400_000),
      pageSize: int('METAACCESS_PAGE_SIZE', 50, 1, 50),
      timeoutMs: int('METAACCESS_TIMEOUT_MS', 30_000, 1, 3_600_000),
      maxRetries: int('METAACCESS_MAX_RETRIES', 5, 0, 100),
      maxResponseBytes: int('METAACCESS_MAX_RESPONSE_BYTES', 16 * MIB, 1024, 1024 * MIB),
      allowInsecure,
      insecure: url.insecure,
    },
    sync: {
      cron: cronExpr,
      timezone,
      onStart: bool('SYNC_ON_START', false),
      snapshotRetentionDays: int('SNAPSHOT_RETENTION_DAYS', 400, 0, 100_000),
      removalGuardPercent: int('REMOVAL_GUARD_PERCENT', 50, 0, 100),
      removalConfirm,
      resumeWithinMs: check(() => readDuration(get, 'SYNC_RESUME_WITHIN', 6 * 3_600_000), 6 * 3_600_000),
    },
    httpPort: int('HTTP_PORT', 9464, 0, 65_535),
    logLevel,
    logFormat,
  };
  if (problems.length === 1) throw problems[0]!;
  if (problems.length > 1) throw new ConfigProblems(problems);
  return deepFreeze(config);
}

/** Several configuration problems in one error: the message lists each on its own line, naming its variable. */
export class ConfigProblems extends ConfigError {
  readonly problems: readonly ConfigError[];
  constructor(problems: ConfigError[]) {
    super(problems[0]!.variable, '');
    this.problems = problems;
    // Duplicates arise when one bad variable is read twice (a secret's *_FILE): listed once.
    const lines = [...new Set(problems.map((p) => p.message))];
    this.message = `${lines.length} problems:\n${lines.map((line) => `  ${line}`).join('\n')}`;
  }
}

/** `X` or the contents of the file named by `X_FILE` (secrets only); empty means unset. */
function readValue(env: Env, name: string): string | undefined {
  const direct = env[name];
  const file = SECRET_VARIABLES.includes(name) ? env[`${name}_FILE`] : undefined;
  if (direct !== undefined && direct !== '' && file) throw new ConfigError(name, `set either ${name} or ${name}_FILE, not both`);
  let value = direct;
  if (file) {
    try {
      value = readFileSync(file, 'utf8').trim();
    } catch (err) {
      throw new ConfigError(`${name}_FILE`, `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
    }
    if (value === '') throw new ConfigError(`${name}_FILE`, `${file} is empty`);
  }
  value = value?.trim();
  if (value !== undefined && SECRET_VARIABLES.includes(name)) registerSecrets(name, value);
  return value === '' ? undefined : value;
}

/**
 * Masked wherever they appear. Of DATABASE_URL only its password: the rest names the database,
 * which commands print on purpose (the location), and a URL without a password has nothing to hide.
 */
function registerSecrets(name: string, value: string): void {
  if (name !== 'DATABASE_URL') return registerSecret(value);
  try {
    const url = new URL(value);
    for (const password of [url.password, url.searchParams.get('password') ?? '']) {
      registerSecret(password);
      registerSecret(decodeURIComponent(password));
    }
  } catch {
    registerSecret(value);
  }
}

function readCredentials(get: (n: string) => string | undefined): Credentials {
  const accessToken = get('METAACCESS_ACCESS_TOKEN');
  const clientId = get('METAACCESS_CLIENT_ID');
  const clientSecret = get('METAACCESS_CLIENT_SECRET');
  if (clientId || clientSecret) {
    if (!clientId) throw new ConfigError('METAACCESS_CLIENT_ID', 'is required with METAACCESS_CLIENT_SECRET');
    if (!clientSecret) throw new ConfigError('METAACCESS_CLIENT_SECRET', 'is required with METAACCESS_CLIENT_ID');
    if (accessToken) throw new ConfigError('METAACCESS_ACCESS_TOKEN', 'set either a static token or client credentials, not both');
    return { kind: 'oauth', clientId, clientSecret };
  }
  return accessToken ? { kind: 'token', accessToken } : { kind: 'none' };
}

function readInt(get: (n: string) => string | undefined, name: string, fallback: number, min: number, max: number): number {
  const raw = get(name);
  if (raw === undefined) return fallback;
  if (!/^-?\d+$/.test(raw)) throw new ConfigError(name, `"${raw}" is not a whole number`);
  const value = Number(raw);
  if (value < min || value > max) throw new ConfigError(name, `${value} is outside ${min}..${max}`);
  return value;
}

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** A duration such as `6h`, `90m`, `30s` or `2d`; `0` turns the feature off. */
function readDuration(get: (n: string) => string | undefined, name: string, fallback: number): number {
  const raw = get(name);
  if (raw === undefined) return fallback;
  if (raw === '0') return 0;
  const match = /^(\d+)\s*([smhd])$/.exec(raw);
  if (!match) throw new ConfigError(name, `"${raw}" is not a duration like 6h, 90m, 30s or 2d (0 turns it off)`);
  return Number(match[1]) * UNIT_MS[match[2]!]!;
}

function readBool(get: (n: string) => string | undefined, name: string, fallback: boolean): boolean {
  const raw = get(name)?.toLowerCase();
  if (raw === undefined) return fallback;
  // Exactly what the message offers: "yes" or "on" would be a guess at what was meant.
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  throw new ConfigError(name, `"${raw}" is not true or false (1 and 0 are accepted too)`);
}

const MIB = 1024 * 1024;

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
