import { DrizzleQueryError } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { ApiError, DatabaseError, LockLostError, errorCode, errorMessage, toAppError } from './errors.ts';

/** What pg (pg-protocol) and PGlite throw for an ErrorResponse: fields read by shape. */
function serverError(code: string, message: string, severity = 'ERROR', extra: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(message), { name: 'error', code, severity, ...extra });
}

function socketError(code: string, message: string, syscall = 'connect'): Error {
  return Object.assign(new Error(message), { code, syscall, errno: -1 });
}

const bigParams = Array.from({ length: 2_000 }, (_, i) => `secret-row-${i}-${'x'.repeat(100)}`);
const wrapped = (cause: unknown) =>
  new DrizzleQueryError('insert into "devices" ("hwid", "raw") values ($1, $2) on conflict do nothing', bigParams, cause as Error);

describe("database errors keep PostgreSQL's words and drop the statement", () => {
  it('a failed statement: its message and SQLSTATE, not the SQL, parameters or detail', () => {
    const err = wrapped(
      serverError('23505', 'duplicate key value violates unique constraint "devices_pkey"', 'ERROR', {
        detail: 'Key (hwid)=(secret-row-1) already exists.',
      }),
    );
    expect(err.message.length).toBeGreaterThan(200_000);
    expect(errorCode(err)).toBe('DB_QUERY_FAILED');
    expect(errorMessage(err)).toBe('duplicate key value violates unique constraint "devices_pkey" (SQLSTATE 23505)');
    const app = toAppError(err);
    expect(app).toBeInstanceOf(DatabaseError);
    expect(app).toMatchObject({ sqlstate: '23505', fatal: true, exitCode: 1 });
  });

  it('a statement timeout, told apart from a cancel by request', () => {
    expect(errorCode(wrapped(serverError('57014', 'canceling statement due to statement timeout')))).toBe('DB_STATEMENT_TIMEOUT');
    expect(errorMessage(wrapped(serverError('57014', 'canceling statement due to statement timeout')))).toBe(
      'canceling statement due to statement timeout (SQLSTATE 57014)',
    );
    expect(errorCode(wrapped(serverError('57014', 'canceling statement due to user request')))).toBe('DB_QUERY_FAILED');
  });

  it.each([
    ['57P01', 'terminating connection due to administrator command'],
    ['57P05', 'terminating connection due to idle-session timeout'],
    ['25P03', 'terminating connection due to idle-in-transaction timeout'],
    ['08006', 'connection failure'],
  ])('SQLSTATE %s ends the session: DB_CONNECTION_LOST', (sqlstate, message) => {
    const err = wrapped(serverError(sqlstate, message, 'FATAL'));
    expect(errorCode(err)).toBe('DB_CONNECTION_LOST');
    expect(errorMessage(err)).toBe(`${message} (SQLSTATE ${sqlstate})`);
  });

  it.each([['Connection terminated unexpectedly'], ['Client has encountered a connection error and is not queryable']])(
    'pg\'s own "%s" is DB_CONNECTION_LOST',
    (message) => {
      expect(errorCode(wrapped(new Error(message)))).toBe('DB_CONNECTION_LOST');
      expect(errorCode(new Error(message))).toBe('DB_CONNECTION_LOST');
    },
  );

  it('a reset socket is DB_CONNECTION_LOST; a refused or silent one DB_UNREACHABLE', () => {
    expect(errorCode(wrapped(socketError('ECONNRESET', 'read ECONNRESET', 'read')))).toBe('DB_CONNECTION_LOST');
    expect(errorCode(socketError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432'))).toBe('DB_UNREACHABLE');
    expect(errorMessage(socketError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432'))).toBe(
      'cannot connect to the database: connect ECONNREFUSED 127.0.0.1:5432',
    );
    expect(errorCode(new Error('timeout exceeded when trying to connect'))).toBe('DB_UNREACHABLE');
    expect(errorCode(serverError('57P03', 'the database system is starting up', 'FATAL'))).toBe('DB_UNREACHABLE');
  });

  it("Node 20's AggregateError for a host name with several addresses (empty message)", () => {
    const err = Object.assign(new AggregateError([socketError('ECONNREFUSED', 'connect ECONNREFUSED ::1:5432')], ''), {
      code: 'ECONNREFUSED',
    });
    expect(errorCode(err)).toBe('DB_UNREACHABLE');
    expect(errorMessage(err)).toBe('cannot connect to the database: ECONNREFUSED');
  });

  it('a drizzle error without a PostgreSQL cause still drops the statement', () => {
    const err = wrapped(new TypeError('value.toISOString is not a function'));
    expect(errorCode(err)).toBe('DB_QUERY_FAILED');
    expect(errorMessage(err)).toBe('database query failed: value.toISOString is not a function');
  });
});

describe('other errors are unchanged', () => {
  it('app errors keep their code and message', () => {
    const api = new ApiError('API_NETWORK', 'devices request failed: ECONNREFUSED', { page: 3 });
    expect(errorCode(api)).toBe('API_NETWORK');
    expect(toAppError(api)).toBe(api);
    expect(new LockLostError('gone')).toMatchObject({ code: 'LOCK_LOST', fatal: true, exitCode: 1 });
  });

  it("an HTTP client's error code (no syscall) is not taken for a database failure", () => {
    expect(errorCode(Object.assign(new Error('Timeout awaiting request'), { code: 'ETIMEDOUT' }))).toBe('ETIMEDOUT');
    expect(errorCode(new Error('boom'))).toBe('INTERNAL');
    expect(errorMessage('plain string')).toBe('plain string');
  });
});
