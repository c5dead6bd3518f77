import pg from 'pg';
import { DatabaseError } from '../lib/errors.ts';

/**
 * A refused or silent server fails in seconds, not after the OS gives up (minutes): the pool, the
 * run lock's connection and the migration lock's connection all wait this long, no longer.
 */
export const CONNECT_TIMEOUT_MS = 5_000;
/** end() waits for the server's goodbye, which a dead or unreachable server never sends. */
const CLOSE_TIMEOUT_MS = 2_000;

/**
 * A pool whose checked-out clients go back (as broken) the moment their connection dies. drizzle
 * releases a transaction's client only if its BEGIN succeeded: a connection killed before that
 * leaked the client, so the pool shrank with every failover until nothing could connect, and
 * pool.end() never finished (Node exited 13 with the stop half done). Releasing twice is a no-op.
 */
export class ReleasingPool extends pg.Pool {
  override connect(): Promise<pg.PoolClient>;
  override connect(callback: (err: Error | undefined, client: pg.PoolClient | undefined, done: (release?: unknown) => void) => void): void;
  override connect(
    callback?: (err: Error | undefined, client: pg.PoolClient | undefined, done: (release?: unknown) => void) => void,
  ): Promise<pg.PoolClient> | void {
    if (callback) return super.connect(callback);
    return super.connect().then((client) => {
      const release = client.release.bind(client);
      let released = false;
      const onLost = (err?: Error) => client.release(err ?? new Error('connection ended'));
      client.once('error', onLost);
      client.once('end', onLost);
      client.release = (err?: Error | boolean) => {
        if (released) return;
        released = true;
        client.off('error', onLost);
        client.off('end', onLost);
        release(err);
      };
      return client;
    });
  }
}

/**
 * A pg client that is never without an 'error' listener: pg emits 'error' when a client's socket
 * dies, and the pool listens only while the client is idle, so a connection dropped inside a
 * transaction would crash the process. It also keeps what PostgreSQL said when it closed the
 * connection (e.g. 57P01 "terminating connection due to administrator command"), and statements
 * that fail afterwards (drizzle's ROLLBACK) report that instead of "... is not queryable".
 */
export class ReportingClient extends pg.Client {
  #closedWith: Error | undefined;

  constructor(config?: string | pg.ClientConfig) {
    super(config);
    // Without a password pg would try SCRAM with none and hang until the connection timeout, then
    // say "client password must be a string"; asked through this function it fails at once, in words.
    // The socket is closed too: pg leaves it open after such an error, and a server that asked for
    // a password waits (authentication_timeout, 60 s by default) with the process held open.
    if (!this.password) {
      const refuse = () => {
        setImmediate(() => this.connection.stream.destroy());
        return passwordMissing();
      };
      Object.defineProperty(this, 'password', { configurable: true, enumerable: false, writable: true, value: refuse });
    }
    this.on('error', (err) => {
      if (isServerFatal(err)) this.#closedWith ??= err;
    });
  }

  // any: forwards every one of pg's overloads (promise, callback, submittable) unchanged.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  override query(...args: any[]): any {
    const result = (super.query as (...a: unknown[]) => unknown).apply(this, args);
    if (!(result instanceof Promise)) return result;
    return result.catch((err: unknown) => {
      if (isServerFatal(err)) this.#closedWith ??= err as Error;
      else if (this.#closedWith !== undefined && typeof (err as { severity?: unknown }).severity !== 'string') throw this.#closedWith;
      throw err;
    });
  }
}

function passwordMissing(): never {
  throw new Error('the server asks for a password and DATABASE_URL has none (put it in the URL, or use DATABASE_URL_FILE)');
}

/**
 * When the OS starts probing an idle connection. Its default (two hours) would leave a half-open
 * socket after a failover unnoticed for the night; probes from 10 s on find it in minutes.
 */
export const KEEPALIVE_DELAY_MS = 10_000;

/** PostgreSQL ends the session after a FATAL (or PANIC) error: everything after it fails for that reason. */
function isServerFatal(err: unknown): boolean {
  const severity = (err as { severity?: unknown } | null)?.severity;
  return severity === 'FATAL' || severity === 'PANIC';
}

/**
 * A connection of its own, outside the pool (the locks live as long as their session). Fails
 * within CONNECT_TIMEOUT_MS, and at once when the server wants a password the URL lacks.
 */
export async function connectClient(url: string, applicationName: string): Promise<pg.Client> {
  // keepAlive: such a connection is mostly idle; the OS then notices a dead peer.
  const client = new ReportingClient({
    connectionString: url,
    application_name: applicationName,
    keepAlive: true,
    keepAliveInitialDelayMillis: KEEPALIVE_DELAY_MS,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
  });
  // Without a listener, a dropped connection's 'error' event would crash the process.
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (err) {
    throw connectFailure(url, err);
  }
  return client;
}

/** Ends a connection of connectClient's without waiting on a server that does not answer. */
export async function closeClient(client: pg.Client): Promise<void> {
  await withTimeout(client.end(), CLOSE_TIMEOUT_MS).catch(() => client.connection.stream.destroy());
}

export function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Any failure to open a connection: refused, unresolvable, silent, or turned away by the server. */
export function connectFailure(url: string, err: unknown): DatabaseError {
  const e = err as { message?: string; code?: string; errors?: Array<{ message?: string }> };
  // Node 20 tries each address of a host name and then reports an AggregateError with an empty message.
  const said = e.message || e.errors?.[0]?.message || e.code || String(err);
  // pg's own words for a silent server ("timeout expired") do not say how long it waited.
  const reason = /timeout/i.test(said) ? `${said} (no answer within ${CONNECT_TIMEOUT_MS / 1000} s)` : said;
  // Turned away by the server (bad password, no such database, too many clients): its SQLSTATE says which.
  const sqlstate = typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code) ? e.code : undefined;
  const message = `cannot connect to DATABASE_URL ${describeUrl(url)}: ${reason}${sqlstate ? ` (SQLSTATE ${sqlstate})` : ''}`;
  return new DatabaseError('DB_UNREACHABLE', message, { cause: err, ...(sqlstate ? { sqlstate } : {}) });
}

/** The connection string as an operator may see it: no password, in the userinfo or the query. */
export function describeUrl(url: string): string {
  // A second "@" before the query means a password with an unencoded "@": a parser takes the
  // password's tail for the host and the path, where it would be shown.
  if ((url.split('?')[0]!.match(/@/g) ?? []).length > 1) return '(not shown: more than one "@"; write "@" in the password as %40)';
  try {
    const u = new URL(url);
    u.password = '';
    u.searchParams.delete('password');
    u.searchParams.delete('sslpassword');
    return u.toString();
  } catch {
    return '(not a URL)';
  }
}
