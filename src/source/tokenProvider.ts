import { ApiError } from '../lib/errors.ts';
import type { Clock } from '../lib/clock.ts';
import { registerSecret } from '../lib/redact.ts';
import { describeStatus, snippet, type RequestStats, type Send } from './sender.ts';

export interface TokenProvider {
  getToken(signal?: AbortSignal): Promise<string>;
  /** Forget `token` (after a 401) so the next getToken() fetches a new one. */
  invalidate(token: string): void;
  /** Whether invalidating can produce a different token (OAuth yes, static no). */
  readonly renewable: boolean;
}

export function createStaticToken(token: string): TokenProvider {
  registerSecret(token);
  return { getToken: async () => token, invalidate: () => undefined, renewable: false };
}

export interface OAuthOptions {
  baseUrl: string;
  clientId: string;
  clientSecret: string;
  send: Send;
  clock: Clock;
  stats: RequestStats;
}

/**
 * OAuth client credentials. The token is cached until shortly before `expires_in` (10% of its
 * lifetime, at most a minute) so a long run never sends a request with a token about to die;
 * concurrent callers share one token request.
 */
export function createOAuthTokenProvider(options: OAuthOptions): TokenProvider {
  registerSecret(options.clientSecret);
  let cached: { token: string; renewAt: number } | undefined;
  let inflight: Promise<string> | undefined;

  async function fetchToken(signal?: AbortSignal): Promise<string> {
    options.stats.tokenRequests += 1;
    const response = await options.send(() => ({
      method: 'POST',
      url: new URL('/o/oauth/token', options.baseUrl),
      form: { grant_type: 'client_credentials', client_id: options.clientId, client_secret: options.clientSecret },
    }), { what: 'token request' }, signal);
    if (response.status !== 200) {
      throw new ApiError('API_AUTH_FAILED', `token request ${describeStatus(response.status)}`, { status: response.status, body: snippet(response.body) });
    }
    const parsed = parseTokenBody(response.body);
    registerSecret(parsed.token);
    const lifetimeMs = parsed.expiresInSec * 1000;
    cached = { token: parsed.token, renewAt: options.clock.now() + lifetimeMs - Math.min(60_000, lifetimeMs * 0.1) };
    return parsed.token;
  }

  return {
    renewable: true,
    async getToken(signal) {
      if (cached && options.clock.now() < cached.renewAt) return cached.token;
      inflight ??= fetchToken(signal).finally(() => {
        inflight = undefined;
      });
      return inflight;
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
