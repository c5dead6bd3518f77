import { ConfigError } from '../lib/errors.ts';

export const DEFAULT_URL = 'https://gears.opswat.com';

/**
 * A URL as a message may quote it: no userinfo (it may hold a password) and no query or fragment
 * (it may hold a token). Works on text that does not parse, which is when quoting it helps most.
 */
export function quotableUrl(raw: string): string {
  const cut = raw.split(/[?#]/, 1)[0]!;
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(cut)?.[0] ?? '';
  const rest = cut.slice(scheme.length);
  const at = rest.lastIndexOf('@');
  const hidden = at >= 0 ? `…@${rest.slice(at + 1)}` : rest;
  return `${scheme}${hidden}${cut.length < raw.length ? '?…' : ''}`;
}

/**
 * DATABASE_URL as node-postgres reads it (pg-connection-string): WHATWG URL parsing, after
 * encoding spaces and stray `%`, with an empty host (`postgres://user@/db`) standing for the
 * local socket. What that cannot parse would fail at the first connection instead, so it is a
 * configuration error here; the text is never quoted, since its password may be what broke it.
 */
export function readDatabaseUrl(value: string): string {
  if (!/^postgres(ql)?:\/\//.test(value)) throw new ConfigError('DATABASE_URL', 'must be a postgres:// or postgresql:// URL');
  const encoded = /\s|%[^a-f0-9]|%[a-f0-9][^a-f0-9]/i.test(value) ? encodeURI(value).replace(/%25(\d\d)/g, '%$1') : value;
  // A second "@" (before the query) is a password's unencoded "@": parsed, the password's tail
  // becomes the host, which would be looked up in DNS and tried with the rest as the password.
  const atSigns = (value.split('?')[0]!.match(/@/g) ?? []).length;
  if (atSigns < 2 && (URL.canParse(encoded) || URL.canParse(encoded.replace('@/', '@___DUMMY___/')))) return value;
  throw new ConfigError(
    'DATABASE_URL',
    'is not a valid URL (value not shown: it may hold a password): the port must be a number,'
      + ' and a password with reserved characters (# / ? @ :) must be percent-encoded (# as %23, @ as %40)',
  );
}

/** `insecure`: plain http:// to a host off this machine, accepted only because it was asked for. */
export function readApiUrl(raw: string, allowInsecure: boolean): { origin: string; insecure: boolean } {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError('METAACCESS_URL', `"${quotableUrl(raw)}" is not a URL (expected an origin like ${DEFAULT_URL})`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ConfigError('METAACCESS_URL', 'must be http:// or https://');
  // An origin only: credentials have variables of their own, and a user name, password or query
  // here would be sent nowhere useful (and would be printed in every error that names the host).
  if (url.username || url.password)
    throw new ConfigError(
      'METAACCESS_URL',
      'must not hold a user name or password (not shown): set METAACCESS_ACCESS_TOKEN, or METAACCESS_CLIENT_ID and METAACCESS_CLIENT_SECRET',
    );
  if (url.search || url.hash)
    throw new ConfigError('METAACCESS_URL', `must be an origin only, like ${DEFAULT_URL}: remove the query (not shown) from ${url.origin}`);
  // The API paths (/o/api/v2.3/devices, /o/oauth/token) are absolute: a path here would be ignored.
  if (url.pathname !== '/')
    throw new ConfigError('METAACCESS_URL', `must be an origin only, like ${DEFAULT_URL} (got "${url.origin}${url.pathname}")`);
  // Every request carries the access token in its query string: in clear text only on loopback
  // (the simulator, a local proxy), unless the operator says so explicitly.
  const insecure = url.protocol === 'http:' && !isLoopback(url.hostname);
  if (insecure && !allowInsecure) {
    throw new ConfigError(
      'METAACCESS_URL',
      `http:// would send the access token unencrypted to ${url.hostname}: use https://, or set METAACCESS_ALLOW_INSECURE=true`,
    );
  }
  return { origin: url.origin, insecure };
}

/** `hostname` as URL normalizes it: IPv4 in dotted form, IPv6 in brackets. */
function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}
