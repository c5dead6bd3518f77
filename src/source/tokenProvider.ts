import { ApiError } from '../lib/errors.ts';
import type { Clock } from '../lib/clock.ts';
import { registerSecret } from '../lib/redact.ts';
import { raceSignal } from './gates.ts';
import { describeStatus, snippet, type RequestStats, type Send, type TokenSource } from './sender.ts';

export interface TokenProvider extends TokenSource {
  /** A usable token, fetched if none is cached or the cached one is due for renewal. */
  getToken(signal?: AbortSignal): Promise<string>;
  /** The cached token if it is still good to send now; never fetches. */
  peek(): string | undefined;
  /** Forget `token` (after a 401) so the next getToken() fetches a new one. */
  invalidate(token: string): void;
  /** Whether invalidating can produce a different token (OAuth yes, static no). */
  readonly renewable: boolean;
}

export function createStaticToken(token: string): TokenProvider {
  registerSecret(token);
  return { getToken: async () => token, peek: () => token, invalidate: () => undefined, renewable: false };
}

export interface OAuthOptions {
  baseUrl: string;
  clientId: string;
  clientSecret: string;
  send: Send;
  clock: Clock;
  stats: RequestStats;
}

/** One token request shared by every caller that needs it; aborted only when all of them gave up. */
interface Flight {
  promise: Promise<string>;
  controller: AbortController;
  waiting: number;
  settled: boolean;
}

/**
 * OAuth client credentials. The token is cached until shortly before `expires_in` (10% of its
 * lifetime, at most a minute) so a long run never sends a request with a token about to die;
 * concurrent callers share one token request, which no single caller's cancellation can abort.
 */
export function createOAuthTokenProvider(options: OAuthOptions): TokenProvider {
  registerSecret(options.clientSecret);
  let cached: { token: string; renewAt: number } | undefined;
  let flight: Flight | undefined;

  async function fetchToken(signal: AbortSignal): Promise<string> {
    options.stats.tokenRequests += 1;
    const response = await options.send(
      () => ({
        method: 'POST',
        url: new URL('/o/oauth/token', options.baseUrl),
        form: { grant_type: 'client_credentials', client_id: options.clientId, client_secret: options.clientSecret },
      }),
      { what: 'token request', prerequisite: true },
      signal,
    );
    if (response.status !== 200) {
      // A 400/401 here is about the client credentials, not an access token.
      const why =
        response.status === 400 || response.status === 401
          ? 'refused: check METAACCESS_CLIENT_ID and METAACCESS_CLIENT_SECRET'
          : describeStatus(response.status);
      throw new ApiError('API_AUTH_FAILED', `token request ${why}`, { status: response.status, body: snippet(response.body) });
    }
    const parsed = parseTokenBody(response.body);
    registerSecret(parsed.token);
    const lifetimeMs = parsed.expiresInSec * 1000;
    cached = { token: parsed.token, renewAt: options.clock.now() + lifetimeMs - Math.min(60_000, lifetimeMs * 0.1) };
    return parsed.token;
  }

  function startFlight(): Flight {
    const controller = new AbortController();
    const started: Flight = {
      controller,
      waiting: 0,
      settled: false,
      promise: fetchToken(controller.signal).finally(() => {
        started.settled = true;
        if (flight === started) flight = undefined;
      }),
    };
    // Every caller awaits it through join(); a flight nobody waits for any more must not surface as unhandled.
    started.promise.catch(() => undefined);
    return started;
  }

  /** Waits for the shared flight, or for this caller's own signal; the last one to leave cancels it. */
  async function join(current: Flight, signal?: AbortSignal): Promise<string> {
    current.waiting += 1;
    try {
      return await raceSignal(current.promise, signal);
    } finally {
      current.waiting -= 1;
      if (current.waiting === 0 && !current.settled) {
        if (flight === current) flight = undefined;
        current.controller.abort(signal?.reason);
      }
    }
  }

  const peek = () => (cached && options.clock.now() < cached.renewAt ? cached.token : undefined);
  return {
    renewable: true,
    peek,
    async getToken(signal) {
      const token = peek();
      if (token !== undefined) return token;
      signal?.throwIfAborted();
      flight ??= startFlight();
      return join(flight, signal);
    },
    invalidate(token) {
      if (cached?.token === token) cached = undefined;
    },
  };
}

function parseTokenBody(body: string): { token: string; expiresInSec: number } {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw new ApiError('API_AUTH_FAILED', 'token response is not JSON', { status: 200, body: snippet(body) });
  }
  const token = (json as { access_token?: unknown })?.access_token;
  if (typeof token !== 'string' || token === '') {
    throw new ApiError('API_AUTH_FAILED', 'token response has no access_token', { status: 200 });
  }
  const expiresIn = Number((json as { expires_in?: unknown }).expires_in);
  // Unknown lifetime: assume an hour and rely on the 401 renewal if that was optimistic.
  return { token, expiresInSec: Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn : 3600 };
}
