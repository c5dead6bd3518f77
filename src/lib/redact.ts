/**
 * Secrets travel in URLs (`access_token=`) and forms (`client_secret=`). Everything that can
 * leave the process — log lines, error messages, run rows, --json output — goes through here.
 */
const SECRET_PARAM = /([?&#;\s"'](?:access_token|refresh_token|client_secret|token)=)[^&\s"'#]+/gi;
const BEARER = /(Bearer\s+)[\w.~+/=-]+/g;
const URL_PASSWORD = /(\b[a-z][a-z0-9+.-]*:\/\/[^:/@\s]+:)[^@\s/]+@/gi;
export const SECRET_KEY = /^(access_?token|refresh_?token|token|password|authorization|client_?secret|secret)$/i;

const knownSecrets = new Set<string>();

/** Register a literal secret (a configured token or client secret) so it is masked wherever it appears. */
export function registerSecret(value: string | undefined): void {
  if (value && value.length >= 4) knownSecrets.add(value);
}

export function redactText(text: string): string {
  let out = text.replace(SECRET_PARAM, '$1[REDACTED]').replace(BEARER, '$1[REDACTED]').replace(URL_PASSWORD, '$1[REDACTED]@');
  for (const secret of knownSecrets) {
    if (out.includes(secret)) out = out.split(secret).join('[REDACTED]');
  }
  return out;
}

/** Deep copy with secrets masked: keys that name secrets, and secret values inside strings. */
export function redactValue(value: unknown, seen = new WeakSet<object>()): unknown {
  if (typeof value === 'string') return redactText(value);
  if (value instanceof URL) return redactText(value.toString());
  if (value instanceof Error) {
    const e = value as Error & { code?: unknown };
    return {
      name: e.name,
      message: redactText(e.message),
      ...(typeof e.code === 'string' ? { code: e.code } : {}),
      ...(e.stack ? { stack: redactText(e.stack) } : {}),
    };
  }
  if (value && typeof value === 'object') {
    if (seen.has(value)) return '[Circular]';
    seen.add(value);
    if (Array.isArray(value)) return value.map((v) => redactValue(v, seen));
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, SECRET_KEY.test(k) ? '[REDACTED]' : redactValue(v, seen)]));
  }
  return value;
}
