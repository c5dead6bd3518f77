/**
 * Pure retry decisions: which failures are worth another attempt and how long to wait.
 * The MetaAccess account allows 10 requests a minute, so a server's own hint (Retry-After,
 * X-RateLimit-Reset-Time) always beats our backoff guess.
 */
export interface BackoffOptions {
  baseMs: number;
  capMs: number;
  random?: () => number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 1000, capMs: 30_000 };

const RETRYABLE_STATUS = new Set([408, 425, 429, 500, 502, 503, 504, 520, 521, 522, 523, 524]);

export function isRetryableStatus(status: number): boolean {
  return RETRYABLE_STATUS.has(status);
}

const RETRYABLE_CODES = new Set([
  'ETIMEDOUT',
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ENOTFOUND',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'EAI_AGAIN',
  'ERR_STREAM_PREMATURE_CLOSE',
  'UND_ERR_SOCKET',
]);

export function isRetryableNetworkCode(code: string | undefined): boolean {
  return code !== undefined && (RETRYABLE_CODES.has(code) || code.startsWith('HPE_'));
}

/** Capped exponential backoff with "equal jitter": half fixed, half random, so retries spread out. */
export function backoffDelay(attempt: number, options: BackoffOptions = DEFAULT_BACKOFF): number {
  const random = options.random ?? Math.random;
  const exp = Math.min(options.capMs, options.baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exp / 2 + random() * (exp / 2));
}

/**
 * The wait a 429/503 asks for, in ms, or undefined when it gives none.
 * `Retry-After` is seconds or an HTTP date; `X-RateLimit-Reset-Time` is seconds to wait, or an
 * epoch timestamp in seconds or milliseconds (the vendor does not say which, so both are read).
 */
export function serverRetryDelay(headers: Record<string, string | string[] | undefined>, nowMs: number): number | undefined {
  const delays: number[] = [];
  const retryAfter = firstHeader(headers['retry-after']);
  if (retryAfter !== undefined) {
    const seconds = Number(retryAfter);
    if (Number.isFinite(seconds) && seconds >= 0) delays.push(seconds * 1000);
    else {
      const at = Date.parse(retryAfter);
      if (Number.isFinite(at)) delays.push(Math.max(0, at - nowMs));
    }
  }
  const reset = Number(firstHeader(headers['x-ratelimit-reset-time']));
  if (Number.isFinite(reset) && reset >= 0) {
    if (reset > 1e12) delays.push(Math.max(0, reset - nowMs));
    else if (reset > 1e9) delays.push(Math.max(0, reset * 1000 - nowMs));
    else delays.push(reset * 1000);
  }
  // Both may be present, and an epoch reset time can look past with clock skew: the later wins.
  return delays.length ? Math.ceil(Math.max(...delays)) : undefined;
}

function firstHeader(value: string | string[] | undefined): string | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}
