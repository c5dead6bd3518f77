/**
 * One error taxonomy for the whole worker. `code` lands on the run row, `fatal` tells the
 * caller whether the run (or the process) must stop, `exitCode` is what the CLI returns.
 */
export class AppError extends Error {
  readonly code: string;
  readonly fatal: boolean;
  readonly exitCode: number;

  constructor(code: string, message: string, options: { cause?: unknown; fatal?: boolean; exitCode?: number } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.fatal = options.fatal ?? true;
    this.exitCode = options.exitCode ?? 1;
  }
}

/** A bad environment value. Raised before any work; the CLI exits 2. */
export class ConfigError extends AppError {
  readonly variable: string;
  constructor(variable: string, message: string) {
    super('CONFIG_INVALID', `${variable}: ${message}`, { exitCode: 2 });
    this.variable = variable;
  }
}

export interface ApiErrorDetails {
  status?: number;
  page?: number;
  attempts?: number;
  /** Already redacted and truncated. */
  body?: string;
}

/** The MetaAccess API failed in a way retries did not fix. Never carries the token. */
export class ApiError extends AppError {
  readonly status: number | undefined;
  readonly page: number | undefined;
  readonly attempts: number | undefined;
  readonly body: string | undefined;
  constructor(code: string, message: string, details: ApiErrorDetails = {}, cause?: unknown) {
    const where = [
      details.page === undefined ? undefined : `page ${details.page}`,
      details.status === undefined ? undefined : `HTTP ${details.status}`,
      details.attempts === undefined ? undefined : `after ${details.attempts} attempt(s)`,
    ].filter(Boolean);
    const body = details.body ? `; body: ${details.body}` : '';
    super(code, `${message}${where.length ? ` (${where.join(', ')})` : ''}${body}`, { cause });
    this.status = details.status;
    this.page = details.page;
    this.attempts = details.attempts;
    this.body = details.body;
  }
}

/** Another process holds the run lock. The CLI exits 3. */
export class LockHeldError extends AppError {
  constructor(message: string) {
    super('LOCK_HELD', message, { exitCode: 3, fatal: false });
  }
}

/** The run lock (advisory lock or the embedded database's lock file) is gone: stop before writing again. */
export class LockLostError extends AppError {
  constructor(message: string, cause?: unknown) {
    super('LOCK_LOST', message, { cause, fatal: true, exitCode: 1 });
  }
}

export type DatabaseErrorCode = 'DB_STATEMENT_TIMEOUT' | 'DB_CONNECTION_LOST' | 'DB_UNREACHABLE' | 'DB_QUERY_FAILED';

/**
 * PostgreSQL (or the connection to it) failed. The message is PostgreSQL's own, with its SQLSTATE:
 * never the statement or its parameters, which drizzle puts in its error message (rows of data, megabytes).
 */
export class DatabaseError extends AppError {
  readonly sqlstate: string | undefined;
  constructor(code: DatabaseErrorCode, message: string, options: { sqlstate?: string; cause?: unknown } = {}) {
    super(code, message, { cause: options.cause });
    this.sqlstate = options.sqlstate;
  }
}

/** Fields of a pg (or PGlite) protocol error and of a Node socket error; all optional, read by shape. */
interface ErrorFields {
  message?: unknown;
  code?: unknown;
  severity?: unknown;
  syscall?: unknown;
  cause?: unknown;
  errors?: unknown;
}

const SQLSTATE = /^[0-9A-Z]{5}$/;
// Node's codes for a socket that never connected, and for one that did and then died.
const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT']);
const LOST_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED']);
// pg's own messages, which carry no code.
const UNREACHABLE_TEXT = /^(timeout exceeded when trying to connect|Connection terminated due to connection timeout|timeout expired)$/;
const LOST_TEXT =
  /^(Connection terminated( unexpectedly)?|Client has encountered a connection error and is not queryable|Client was closed and is not queryable)$/;

/** The first error in the cause chain that PostgreSQL sent (it has a SQLSTATE and a severity). */
function findServerError(err: unknown): ErrorFields | undefined {
  for (let e = err as ErrorFields | undefined, depth = 0; e && typeof e === 'object' && depth < 8; e = e.cause as ErrorFields, depth++) {
    if (typeof e.code === 'string' && SQLSTATE.test(e.code) && typeof e.severity === 'string') return e;
  }
  return undefined;
}

function isDrizzleQueryError(err: unknown): err is Error & { cause?: unknown } {
  // By shape, not instanceof: this module imports no database library, and drizzle-orm may be loaded twice.
  const e = err as { query?: unknown; params?: unknown; message?: unknown } | null;
  return (
    !!e && typeof e.query === 'string' && Array.isArray(e.params) && typeof e.message === 'string' && e.message.startsWith('Failed query:')
  );
}

function classifyServerError(e: ErrorFields): DatabaseError {
  const sqlstate = e.code as string;
  const message = `${String(e.message)} (SQLSTATE ${sqlstate})`;
  const code: DatabaseErrorCode =
    sqlstate === '57014' && /statement timeout/i.test(String(e.message))
      ? 'DB_STATEMENT_TIMEOUT'
      : sqlstate === '57P03' || sqlstate === '08001' || sqlstate === '08004'
        ? 'DB_UNREACHABLE'
        : sqlstate.startsWith('08') || sqlstate.startsWith('57P') || sqlstate === '25P03'
          ? 'DB_CONNECTION_LOST'
          : 'DB_QUERY_FAILED';
  return new DatabaseError(code, message, { sqlstate, cause: e });
}

/** A socket or pg connection failure (no SQLSTATE): which of the two it was, or undefined if neither. */
function classifyConnectionError(err: unknown): DatabaseError | undefined {
  for (let e = err as ErrorFields | undefined, depth = 0; e && typeof e === 'object' && depth < 8; e = e.cause as ErrorFields, depth++) {
    // Only socket errors (they name a syscall, or nest the ones that do): an HTTP client's copy of the code is not ours.
    const isSocketError = typeof e.syscall === 'string' || Array.isArray(e.errors);
    const code = isSocketError && typeof e.code === 'string' ? e.code : '';
    const text = typeof e.message === 'string' ? e.message : '';
    // Node 20 tries every address of a name: a refusal then comes as an AggregateError with an empty message.
    const detail = text || code || firstNested(e) || 'connection failed';
    if (UNREACHABLE_CODES.has(code) || UNREACHABLE_TEXT.test(text)) {
      return new DatabaseError('DB_UNREACHABLE', `cannot connect to the database: ${detail}`, { cause: e });
    }
    if (LOST_CODES.has(code) || LOST_TEXT.test(text)) {
      return new DatabaseError('DB_CONNECTION_LOST', `database connection lost: ${detail}`, { cause: e });
    }
  }
  return undefined;
}

function firstNested(e: ErrorFields): string | undefined {
  const first = Array.isArray(e.errors) ? (e.errors[0] as ErrorFields | undefined) : undefined;
  return typeof first?.message === 'string' ? first.message : undefined;
}

/** Database failures as a DatabaseError; undefined for errors that did not come from the database. */
export function toDatabaseError(err: unknown): DatabaseError | undefined {
  if (err instanceof DatabaseError) return err;
  if (err instanceof AppError) return undefined;
  const server = findServerError(err);
  if (server) return classifyServerError(server);
  const connection = classifyConnectionError(err);
  if (connection) return connection;
  if (isDrizzleQueryError(err)) {
    const cause = err.cause as ErrorFields | undefined;
    const reason = typeof cause?.message === 'string' ? cause.message : 'unknown error';
    return new DatabaseError('DB_QUERY_FAILED', `database query failed: ${reason}`, { cause: err.cause });
  }
  return undefined;
}

/** Any thrown value as an AppError: ours as they are, database failures classified, the rest INTERNAL (or their own code). */
export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  const database = toDatabaseError(err);
  if (database) return database;
  const code = (err as { code?: unknown } | null)?.code;
  const message = err instanceof Error ? err.message : String(err);
  return new AppError(typeof code === 'string' ? code : 'INTERNAL', message, { cause: err });
}

export function errorCode(err: unknown): string {
  return toAppError(err).code;
}

export function errorMessage(err: unknown): string {
  return toAppError(err).message;
}
