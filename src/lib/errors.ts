/**
 * One error taxonomy for the whole worker. `code` lands on the run row, `fatal` tells the
 * caller whether the run (or the process) must stop, `exitCode` is what the CLI returns.
 */
export class AppError extends Error {
  readonly code: string;
  readonly fatal: boolean;
  readonly exitCode: number;

  constructor(
    code: string,
    message: string,
    options: { cause?: unknown; fatal?: boolean; exitCode?: number } = {},
  ) {
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

/** The run was asked to stop (SIGTERM/SIGINT) and stopped once the pages it held were stored. */
export class RunCancelledError extends AppError {
  constructor() {
    super('CANCELLED', 'run cancelled by signal', { fatal: false, exitCode: 0 });
  }
}

export function errorCode(err: unknown): string {
  if (err instanceof AppError) return err.code;
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'INTERNAL';
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
