import { ApiError } from '../lib/errors.ts';
import type { Clock } from '../lib/clock.ts';
import type { Logger } from '../lib/logger.ts';
import { redactText, truncate } from '../lib/redact.ts';
import type { RateLimiter } from './rateLimiter.ts';
import {
  backoffDelay, isRetryableNetworkCode, isRetryableStatus, serverRetryDelay, type BackoffOptions,
} from './retryPolicy.ts';
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

/** What the request is, for errors and logs; never includes the URL (it carries the token). */
export interface RequestContext {
  what: string;
  page?: number;
}

export type Send = (build: () => Omit<HttpRequest, 'timeoutMs' | 'signal'>, ctx: RequestContext, signal?: AbortSignal) => Promise<HttpResponse>;

/**
 * Sends one logical request: every attempt takes a rate-limiter slot first, transient failures
 * (429, 5xx, timeouts, resets) are retried with backoff, and whatever final response remains is
 * returned for the caller to judge. Network failures that outlast the retries throw an ApiError.
 */
export function createSender(deps: SenderDeps): Send {
  return async (build, ctx, signal) => {
    for (let attempt = 1; ; attempt++) {
      const permit = await deps.limiter.acquire(signal);
      deps.stats.requests += 1;
      let response: HttpResponse;
      try {
        response = await deps.transport({ ...build(), timeoutMs: deps.timeoutMs, onSent: permit.sent, ...(signal ? { signal } : {}) });
        permit.answered();
      } catch (err) {
        permit.answered();
        if (signal?.aborted) throw signal.reason;
        // The same request would bring the same body: retrying only spends the rate limit.
        if (err instanceof ResponseTooLargeError) {
          throw new ApiError('API_RESPONSE_TOO_LARGE',
            `${ctx.what}: response larger than ${err.limitBytes} bytes (raise METAACCESS_MAX_RESPONSE_BYTES if the API really sends that much)`,
            { page: ctx.page, attempts: attempt });
        }
        const code = (err as { code?: string }).code;
        if (!isRetryableNetworkCode(code) || attempt > deps.maxRetries) {
          throw new ApiError('API_NETWORK', `${ctx.what} failed: ${code ?? 'network error'}`, { page: ctx.page, attempts: attempt },
            new Error(redactText((err as Error).message ?? String(err))));
        }
        await pause(deps, ctx, attempt, backoffDelay(attempt, deps.backoff), { code }, signal);
        continue;
      }
      if (response.status === 429) {
        deps.stats.rateLimited += 1;
        const before = deps.limiter.marginMs;
        deps.limiter.widenMargin();
        if (deps.limiter.marginMs > before) {
          deps.logger.warn('the server refused a request the rate limiter allowed; widening its safety margin', { marginMs: deps.limiter.marginMs });
        }
      }
      if (!isRetryableStatus(response.status) || attempt > deps.maxRetries) return response;
      const hinted = serverRetryDelay(response.headers, deps.clock.now());
      if (hinted !== undefined && hinted > deps.maxServerDelayMs) {
        throw new ApiError('API_RETRY_TOO_LONG', `${ctx.what}: server asked to wait ${Math.round(hinted / 1000)} s, more than allowed`, {
          status: response.status, page: ctx.page, attempts: attempt, body: snippet(response.body),
        });
      }
      await pause(deps, ctx, attempt, hinted || backoffDelay(attempt, deps.backoff), { status: response.status }, signal);
    }
  };
}

async function pause(deps: SenderDeps, ctx: RequestContext, attempt: number, delayMs: number, why: object, signal?: AbortSignal) {
  deps.stats.retries += 1;
  deps.logger.warn(`${ctx.what}: retrying`, { ...why, page: ctx.page, attempt, delayMs });
  await deps.clock.sleep(delayMs, signal);
}

/** Error bodies have no documented shape: keep a redacted, truncated copy of the text. */
export function snippet(body: string): string {
  return truncate(redactText(body.replace(/\s+/g, ' ').trim()), 200);
}

export function describeStatus(status: number): string {
  if (status === 401) return 'unauthorized: the access token is invalid or expired';
  if (status === 403) return 'forbidden';
  if (status === 406) return 'limit not accepted (must be 1..50)';
  if (status === 429) return 'rate limit exceeded';
  if (status >= 500) return 'server error';
  return 'unexpected response';
}
