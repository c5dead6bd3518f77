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

/** Node's and got's network error codes, in words an operator acts on; `left`: the request may have reached the host. */
const CAUSES: Array<[RegExp, (host: URL, timeoutMs: number) => string, boolean]> = [
  [/^(ENOTFOUND|EAI_AGAIN|EAI_NONAME)$/, (u) => `DNS: ${u.hostname} does not resolve`, false],
  [/^ECONNREFUSED$/, (u) => `connection refused: nothing listens on ${u.host}`, false],
  [
    /^(ETIMEDOUT|ESOCKETTIMEDOUT)$/,
    (u, ms) => `no answer from ${u.host} within ${formatDuration(ms)} (a firewall, or the wrong host?)`,
    true,
  ],
  [/^(EHOSTUNREACH|ENETUNREACH)$/, (u) => `no route to ${u.hostname}`, false],
  [/^ECONNRESET$/, (u) => `connection reset by ${u.host} (a TLS or proxy mismatch?)`, true],
  [/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|^EPROTO$|SSL/, (u) => `TLS: ${u.host} refused the certificate or handshake`, true],
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
    lines: [],
  };
  if (skipBecause) {
    facts.skipped = true;
    facts.lines.push(`skipped, no request sent: ${skipBecause}`);
    return facts;
  }
  const timeoutMs = Math.min(config.api.timeoutMs, CHECK_TIMEOUT_MS);
  const source = createSource({ ...config.api, maxRetries: 0, timeoutMs }, { clock: systemClock, logger });
  const started = performance.now();
  let neverLeft = false;
  try {
    const page = await source.api.fetchDevicePage(1, signal);
    facts.latencyMs = Math.round(performance.now() - started);
    facts.httpStatus = page.kind === 'devices' ? 200 : 413;
    const creds = config.api.credentials.kind === 'oauth' ? 'client credentials and token accepted' : 'access token accepted';
    facts.proved =
      page.kind === 'devices' ? `${creds}, ${page.devices.length} device(s) on the first page` : `${creds}, the account lists no devices`;
    facts.lines.push(`HTTP ${facts.httpStatus} in ${formatDuration(facts.latencyMs)}: ${facts.proved}`);
  } catch (err) {
    facts.latencyMs = Math.round(performance.now() - started);
    facts.ok = false;
    facts.httpStatus = err instanceof ApiError ? (err.status ?? null) : null;
    const failure = describeFailure(err, new URL(config.api.url), timeoutMs);
    facts.problem = failure.problem;
    neverLeft = failure.neverLeft;
    facts.lines.push(`FAILED after ${formatDuration(facts.latencyMs)}: ${facts.problem}`);
  } finally {
    facts.requests = source.stats.requests;
  }
  // Only a failure before any connection proves the host saw nothing; a silent one may have.
  const reached = neverLeft ? ' (none reached the API)' : facts.httpStatus === null && !facts.ok ? ' (no answer)' : '';
  facts.lines.push(
    `requests sent: ${facts.requests}${reached}, of the account's ${config.api.rateLimit} per ${formatDuration(config.api.rateWindowMs)}`,
  );
  return facts;
}

/** What went wrong, once: the status or network cause, without the sender's page and attempt notes. */
function describeFailure(err: unknown, host: URL, timeoutMs: number): { problem: string; neverLeft: boolean } {
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof ApiError && err.status !== undefined) {
    // The sender's message already says what the status means ("... unauthorized: ..."): keep its words.
    const said = message.replace(/ \(page \d+, HTTP \d+(, after \d+ attempt\(s\))?\)/, '');
    return { problem: `HTTP ${err.status}: ${said}`, neverLeft: false };
  }
  // The sender names a network failure's code: "... unreachable (ECONNREFUSED)".
  const code = /unreachable \(([A-Z][A-Z0-9_]+)\)/.exec(message)?.[1];
  const cause = code ? CAUSES.find(([pattern]) => pattern.test(code)) : undefined;
  if (code && cause) return { problem: `${cause[1](host, timeoutMs)} (${code})`, neverLeft: !cause[2] };
  return { problem: message.replace(/ \(page \d+, after \d+ attempt\(s\)\)/, ''), neverLeft: false };
}
