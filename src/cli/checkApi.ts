import type { Config } from '../config/config.ts';
import { systemClock } from '../lib/clock.ts';
import { ApiError } from '../lib/errors.ts';
import type { Logger } from '../lib/logger.ts';
import { createSource } from '../source/createSource.ts';
import { formatDuration } from './format.ts';

/** A wrong host must fail within seconds: check waits at most this long for an answer. */
export const CHECK_TIMEOUT_MS = 10_000;

export interface ApiFacts {
  ok: boolean;
  skipped: boolean;
  host: string;
  /** Requests sent (and counted against the account's rate limit). */
  requests: number;
  httpStatus: number | null;
  latencyMs: number | null;
  proved: string | null;
  problem: string | null;
  lines: string[];
}

/** Node's and got's network error codes, in words an operator acts on. */
const CAUSES: Array<[RegExp, string]> = [
  [/^(ENOTFOUND|EAI_AGAIN|EAI_NONAME)$/, 'DNS: the host name does not resolve'],
  [/^ECONNREFUSED$/, 'connection refused: nothing listens on that port'],
  [/^(ETIMEDOUT|ESOCKETTIMEDOUT)$/, `no answer within ${CHECK_TIMEOUT_MS / 1000} s (a firewall, or the wrong host?)`],
  [/^(EHOSTUNREACH|ENETUNREACH)$/, 'host unreachable: no route to it'],
  [/^ECONNRESET$/, 'connection reset by the host (a TLS or proxy mismatch?)'],
  [/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|^EPROTO$|SSL/, 'TLS: the certificate or handshake was refused'],
];

/**
 * One page of the device list, the request a sync makes first, through the product's own source
 * (TLS, timeouts, error texts), with no retries and a short timeout. With a static token that is
 * one request; with OAuth client credentials two (the token, then the page).
 */
export async function checkApi(config: Config, logger: Logger, skipBecause: string | undefined, signal: AbortSignal): Promise<ApiFacts> {
  const facts: ApiFacts = {
    ok: true,
    skipped: false,
    host: config.api.url,
    requests: 0,
    httpStatus: null,
    latencyMs: null,
    proved: null,
    problem: null,
    lines: [`host: ${config.api.url}`],
  };
  if (skipBecause) {
    facts.skipped = true;
    facts.lines.push(`skipped, no request sent: ${skipBecause}`);
    return facts;
  }
  const source = createSource(
    { ...config.api, maxRetries: 0, timeoutMs: Math.min(config.api.timeoutMs, CHECK_TIMEOUT_MS) },
    { clock: systemClock, logger },
  );
  const started = performance.now();
  try {
    const page = await source.api.fetchDevicePage(1, signal);
    facts.latencyMs = Math.round(performance.now() - started);
    facts.httpStatus = page.kind === 'devices' ? 200 : 413;
    const creds = config.api.credentials.kind === 'oauth' ? 'client credentials and token accepted' : 'access token accepted';
    facts.proved =
      page.kind === 'devices'
        ? `${creds}, ${page.devices.length} device(s) on the first page (page size ${config.api.pageSize})`
        : `${creds}, the account lists no devices`;
    facts.lines.push(`HTTP ${facts.httpStatus} in ${formatDuration(facts.latencyMs)}: ${facts.proved}`);
  } catch (err) {
    facts.latencyMs = Math.round(performance.now() - started);
    facts.ok = false;
    facts.httpStatus = err instanceof ApiError ? (err.status ?? null) : null;
    facts.problem = describeFailure(err);
    facts.lines.push(`FAILED after ${formatDuration(facts.latencyMs)}: ${facts.problem}`);
  } finally {
    facts.requests = source.stats.requests;
  }
  const reached = facts.httpStatus === null && !facts.ok ? ' (none reached the API)' : '';
  facts.lines.push(
    `requests sent: ${facts.requests}${reached}, of the account's ${config.api.rateLimit} per ${formatDuration(config.api.rateWindowMs)}`,
  );
  return facts;
}

function describeFailure(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof ApiError && err.status !== undefined) {
    const status = err.status;
    const named =
      status === 401 ? '401 unauthorized' : status === 403 ? '403 forbidden' : status === 429 ? '429 rate limited' : `HTTP ${status}`;
    return `${named}: ${message}`;
  }
  // The sender names a network failure's code: "... unreachable (ECONNREFUSED)".
  const code = /unreachable \(([A-Z][A-Z0-9_]+)\)/.exec(message)?.[1];
  const cause = code ? CAUSES.find(([pattern]) => pattern.test(code))?.[1] : undefined;
  return cause ? `${cause}: ${message}` : message;
}
