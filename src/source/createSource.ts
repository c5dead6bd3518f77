import type { Config } from '../config/config.ts';
import type { Clock } from '../lib/clock.ts';
import { ConfigError } from '../lib/errors.ts';
import type { Logger } from '../lib/logger.ts';
import { createDevicesApi, type DevicesApi } from './devicesApi.ts';
import { createRateLimiter, type RateLimiter } from './rateLimiter.ts';
import { DEFAULT_BACKOFF, type BackoffOptions } from './retryPolicy.ts';
import { createRequestStats, createSender, type RequestStats } from './sender.ts';
import { createOAuthTokenProvider, createStaticToken } from './tokenProvider.ts';
import { createGotTransport, DEFAULT_MAX_RESPONSE_BYTES, type Transport } from './transport.ts';

export interface Source {
  api: DevicesApi;
  limiter: RateLimiter;
  stats: RequestStats;
  pageSize: number;
  /** How many pages may be requested ahead of the one being stored. */
  prefetch: number;
}

/**
 * What the source reads of `Config['api']`. The response limit may be left out (tests and
 * benchmarks build this by hand); the insecure-URL flags are the CLI's concern, not the source's.
 */
export type SourceConfig = Omit<Config['api'], 'maxResponseBytes' | 'allowInsecure' | 'insecure'> & { maxResponseBytes?: number };

export interface SourceDeps {
  /** Time for the limiter, backoff and token lifetimes. */
  clock: Clock;
  logger: Logger;
  transport?: Transport;
  backoff?: BackoffOptions;
  limiter?: RateLimiter;
}

/** Wires the API side from configuration: limiter → sender (retries) → token → devices API. */
export function createSource(config: SourceConfig, deps: SourceDeps): Source {
  const stats = createRequestStats();
  const limiter = deps.limiter ?? createRateLimiter({ limit: config.rateLimit, windowMs: config.rateWindowMs, clock: deps.clock });
  const send = createSender({
    transport: deps.transport ?? createGotTransport({ maxResponseBytes: config.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES }),
    limiter,
    clock: deps.clock,
    logger: deps.logger,
    stats,
    maxRetries: config.maxRetries,
    timeoutMs: config.timeoutMs,
    backoff: deps.backoff ?? DEFAULT_BACKOFF,
    maxServerDelayMs: Math.max(15 * 60_000, 2 * config.rateWindowMs),
  });
  const creds = config.credentials;
  if (creds.kind === 'none') {
    throw new ConfigError(
      'METAACCESS_ACCESS_TOKEN',
      'no credentials: set METAACCESS_ACCESS_TOKEN, or METAACCESS_CLIENT_ID and METAACCESS_CLIENT_SECRET',
    );
  }
  const tokens =
    creds.kind === 'token'
      ? createStaticToken(creds.accessToken)
      : createOAuthTokenProvider({
          baseUrl: config.url,
          clientId: creds.clientId,
          clientSecret: creds.clientSecret,
          send,
          clock: deps.clock,
          stats,
        });
  const api = createDevicesApi({ baseUrl: config.url, pageSize: config.pageSize, send, tokens });
  return { api, limiter, stats, pageSize: config.pageSize, prefetch: prefetchDepth(config.rateLimit) };
}

/**
 * Two windows' worth of requests queued ahead: a slow response (latency up to a window) must not
 * hold back requests whose slots have come. Queued requests cost nothing; those not yet sent when
 * the list ends are cancelled.
 */
function prefetchDepth(rateLimit: number): number {
  return Math.min(2 * rateLimit, 64);
}
