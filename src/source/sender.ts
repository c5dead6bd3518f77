import { ApiError } from '../lib/errors.ts';
import type { Clock } from '../lib/clock.ts';
import type { Logger } from '../lib/logger.ts';
import { printableText } from '../lib/printable.ts';
import { redactText } from '../lib/redact.ts';
import { createFailGate, type FailGate } from './gates.ts';
import type { Permit, RateLimiter } from './rateLimiter.ts';
import { createSlotPool, type SlotPool } from './slotPool.ts';
import { backoffDelay, isRetryableNetworkCode, isRetryableStatus, serverRetryDelay, type BackoffOptions } from './retryPolicy.ts';
import { ResponseTooLargeError, type HttpRequest, type HttpResponse, type Transport } from './transport.ts';

export interface RequestStats {
  requests: number;
  retries: number;
  rateLimited: number;
  tokenRequests: number;
}

export function createRequestStats(): RequestStats {
  return { requests: 0, retries: 0, rateLimited: 0, tokenRequests: 0 };
}

export interface SenderDeps {
  transport: Transport;
  limiter: RateLimiter;
  clock: Clock;
  logger: Logger;
  stats: RequestStats;
  maxRetries: number;
  timeoutMs: number;
  backoff: BackoffOptions;
  /** A server asking for a longer pause than this fails the request instead of stalling the run. */
  maxServerDelayMs: number;
}

/** Where the access token of a request comes from (see TokenProvider). */
export interface TokenSource {
  getToken(signal?: AbortSignal): Promise<string>;
  /** The token to send right now; undefined when none is cached or it is due for renewal. Never fetches. */
  peek(): string | undefined;
}

/** What the request is, for errors and logs; never includes the URL (it carries the token). */
export interface RequestContext {
  what: string;
  page?: number;
  /** The request carries a token from here, read once it has its slot: fresh when it leaves. */
  tokens?: TokenSource;
  /** Other requests depend on it (the token request): it queues first and never waits behind a failing request. */
  prerequisite?: boolean;
}

export type RequestSpec = Omit<HttpRequest, 'timeoutMs' | 'signal' | 'onSent'>;

/** The final response, and the token its request carried (for a 401 renewal). */
export interface SentResponse extends HttpResponse {
  token?: string;
}

/** `build` runs once per attempt, after the rate-limit grant, with the token read at that moment. */
export type Send = (build: (token: string | undefined) => RequestSpec, ctx: RequestContext, signal?: AbortSignal) => Promise<SentResponse>;

/** How a request waits after a failed attempt, or that it failed for good. */
type Verdict = { retry: true; delayMs: number; why: object; gated: boolean } | { retry: false; error: ApiError };

/** The sender's own coordination, shared by its requests. */
interface SlotDeps {
  limiter: RateLimiter;
  gate: FailGate;
  pool: SlotPool;
}

/**
 * Sends one logical request: every attempt takes a rate-limiter slot first, transient failures
 * (429, 5xx, timeouts, resets) are retried, and whatever final response remains is returned for
 * the caller to judge. Retries that run out throw an ApiError naming the host and the last
 * status or network code. While one request is failing, the others hold back (see FailGate);
 * a server's pause (Retry-After, reset time) holds back the whole limiter.
 */
export function createSender(deps: SenderDeps): Send {
  const gate = createFailGate();
  const slots: SlotDeps = { limiter: deps.limiter, gate, pool: createSlotPool(deps.limiter) };
  return async (build, ctx, signal) => {
    const self = {};
    try {
      const response = await sendWithRetries(deps, slots, self, build, ctx, signal);
      gate.open(self);
      return response;
    } catch (error) {
      // Cancelled: no verdict on the API, the others try for themselves.
      if (signal?.aborted) gate.open(self);
      else gate.fail(self, error);
      throw error;
    }
  };
}

async function sendWithRetries(
  deps: SenderDeps,
  slots: SlotDeps,
  self: object,
  build: Parameters<Send>[0],
  ctx: RequestContext,
  signal?: AbortSignal,
): Promise<SentResponse> {
  for (let attempt = 1; ; attempt++) {
    const { permit, token } = await takeSlot(slots, self, ctx, attempt > 1, signal);
    const spec = build(token);
    deps.stats.requests += 1;
    let response: HttpResponse | undefined;
    let failure: unknown;
    try {
      response = await deps.transport({ ...spec, timeoutMs: deps.timeoutMs, onSent: permit.sent, ...(signal ? { signal } : {}) });
    } catch (error) {
      failure = error;
    } finally {
      permit.answered();
    }
    if (!response && signal?.aborted) throw signal.reason;
    const verdict = response
      ? judgeStatus(deps, ctx, attempt, spec.url, response)
      : judgeNetworkError(deps, ctx, attempt, spec.url, failure);
    if (!verdict) return token === undefined ? response! : { ...response!, token };
    if (!verdict.retry) throw verdict.error;
    deps.stats.retries += 1;
    // The first to fail holds the gate and waits itself; the others wait for its verdict instead.
    const waitsItself = !verdict.gated || ctx.prerequisite === true || slots.gate.hold(self);
    deps.logger.warn(`${ctx.what}: retrying`, {
      ...verdict.why,
      page: ctx.page,
      attempt,
      ...(waitsItself ? { delayMs: verdict.delayMs } : { afterFailingRequest: true }),
    });
    if (waitsItself && verdict.delayMs > 0) await deps.clock.sleep(verdict.delayMs, signal);
  }
}

/**
 * Waits for a slot the request can use now: no other request failing, a fresh token. A request
 * queued when another starts failing leaves the queue. One whose token went stale while it was
 * queued offers its slot to the token request (see SlotPool) and, if that took it, queues again
 * at the front.
 */
async function takeSlot(
  deps: SlotDeps,
  self: object,
  ctx: RequestContext,
  retry: boolean,
  signal?: AbortSignal,
): Promise<{ permit: Permit; token: string | undefined }> {
  if (ctx.prerequisite) return { permit: await deps.pool.take(signal), token: undefined };
  let first = retry;
  for (let given = 0; ;) {
    await deps.gate.pass(self, signal);
    const ensured = ctx.tokens ? await ctx.tokens.getToken(signal) : undefined;
    const closing = deps.gate.closing;
    let permit: Permit;
    try {
      permit = await deps.limiter.acquire(anySignal(signal, closing), { first });
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      if (closing.aborted) continue;
      throw error;
    }
    if (signal?.aborted || deps.gate.heldByOther(self)) {
      permit.cancel();
      signal?.throwIfAborted();
      continue;
    }
    const token = ctx.tokens?.peek();
    // A token lifetime shorter than the wait for a slot would starve this request: after two
    // slots given away, it goes with the newest token (a 401 then renews it once).
    if (!ctx.tokens || token !== undefined || given >= 2) return { permit, token: token ?? ensured };
    const takeBack = deps.pool.offer(permit);
    const fresh = await ctx.tokens.getToken(signal).catch((error: unknown) => {
      takeBack()?.cancel();
      throw error;
    });
    const mine = takeBack();
    if (mine) return { permit: mine, token: ctx.tokens.peek() ?? fresh };
    given += 1;
    first = true;
  }
}

function anySignal(a: AbortSignal | undefined, b: AbortSignal | undefined): AbortSignal | undefined {
  return a && b ? AbortSignal.any([a, b]) : (a ?? b);
}

/**
 * Undefined for a final answer (the caller judges it); for a transient one, when to try again
 * (a server's hint pauses the whole limiter) or, when retries ran out, the error.
 */
function judgeStatus(deps: SenderDeps, ctx: RequestContext, attempt: number, url: URL, response: HttpResponse): Verdict | undefined {
  const { status } = response;
  if (status === 429) noteRateLimited(deps);
  if (!isRetryableStatus(status)) return undefined;
  const now = deps.clock.now();
  const hinted = serverRetryDelay(response.headers, now);
  const details = { status, page: ctx.page, attempts: attempt, body: snippet(response.body) };
  if (hinted !== undefined && hinted > deps.maxServerDelayMs) {
    return {
      retry: false,
      error: new ApiError(
        'API_RETRY_TOO_LONG',
        `${ctx.what}: ${url.origin} asked to wait ${Math.round(hinted / 1000)} s, more than allowed`,
        details,
      ),
    };
  }
  if (attempt > deps.maxRetries) {
    return {
      retry: false,
      error: new ApiError(statusErrorCode(status), `${ctx.what} failed: ${url.origin} answered ${describeStatus(status)}`, details),
    };
  }
  if (hinted) {
    deps.limiter.pauseUntil(now + hinted);
    return { retry: true, delayMs: 0, why: { status, pausedMs: hinted }, gated: status !== 429 };
  }
  return { retry: true, delayMs: backoffDelay(attempt, deps.backoff), why: { status }, gated: status !== 429 };
}

function judgeNetworkError(deps: SenderDeps, ctx: RequestContext, attempt: number, url: URL, error: unknown): Verdict {
  // The same request would bring the same body: retrying only spends the rate limit.
  if (error instanceof ResponseTooLargeError) {
    return {
      retry: false,
      error: new ApiError(
        'API_RESPONSE_TOO_LARGE',
        `${ctx.what}: response larger than ${error.limitBytes} bytes (raise METAACCESS_MAX_RESPONSE_BYTES if the API really sends that much)`,
        { page: ctx.page, attempts: attempt },
      ),
    };
  }
  const code = (error as { code?: string }).code;
  if (!isRetryableNetworkCode(code) || attempt > deps.maxRetries) {
    return {
      retry: false,
      error: new ApiError(
        'API_NETWORK',
        `${ctx.what} failed: ${url.origin} unreachable (${code ?? 'network error'})`,
        { page: ctx.page, attempts: attempt },
        new Error(redactText((error as Error).message ?? String(error))),
      ),
    };
  }
  return { retry: true, delayMs: backoffDelay(attempt, deps.backoff), why: { code }, gated: true };
}

function noteRateLimited(deps: SenderDeps): void {
  deps.stats.rateLimited += 1;
  const before = deps.limiter.marginMs;
  deps.limiter.widenMargin();
  if (deps.limiter.marginMs > before) {
    deps.logger.warn('the server refused a request the rate limiter allowed; widening its safety margin', {
      marginMs: deps.limiter.marginMs,
    });
  }
}

/**
 * Error bodies have no documented shape: keep a redacted, truncated copy of the text, its control
 * characters escaped, since the message that quotes it may reach a terminal.
 */
export function snippet(body: string): string {
  return printableText(redactText(body.replace(/\s+/g, ' ').trim()), 200);
}

export function describeStatus(status: number): string {
  if (status === 401) return 'unauthorized: the access token is invalid or expired';
  if (status === 403) return 'forbidden';
  if (status === 406) return 'limit not accepted (must be 1..50)';
  if (status === 429) return 'rate limit exceeded';
  if (status >= 500) return 'server error';
  return 'unexpected response';
}

/** The error code a final HTTP status maps to. */
export function statusErrorCode(status: number): string {
  if (status === 401) return 'API_UNAUTHORIZED';
  if (status === 406) return 'API_LIMIT_REJECTED';
  if (status === 429) return 'API_RATE_LIMITED';
  if (status >= 500) return 'API_SERVER_ERROR';
  return 'API_HTTP_ERROR';
}
