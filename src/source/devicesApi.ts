import { ApiError } from '../lib/errors.ts';
import { printableText } from '../lib/printable.ts';
import { createCredentialProof } from './gates.ts';
import { describeStatus, snippet, statusErrorCode, type RequestContext, type Send, type SentResponse } from './sender.ts';
import type { TokenProvider } from './tokenProvider.ts';

export const DEVICES_PATH = '/o/api/v2.3/devices';
/** Device Details v2.1; the hwid follows as one path segment. */
export const DETAILS_PATH = '/o/api/v2.1/devices/';
/** Account v2: the account's figures, among them `devices_used`. */
export const ACCOUNT_PATH = '/o/api/v2/account';

export type DevicePage = { kind: 'devices'; page: number; devices: unknown[] } | { kind: 'end'; page: number };

export interface AccountInfo {
  /** The account's own count of its devices: an estimate of the list's length, undefined when not given. */
  devicesUsed: number | undefined;
}

export interface DevicesApi {
  /** One page of the device list; `end` when the API says the page is past the last one (413). */
  fetchDevicePage(page: number, signal?: AbortSignal): Promise<DevicePage>;
  /** Whether the account still has the device: Device Details answers 200 (present) or 404 (gone). */
  fetchDeviceDetails(hwid: string, signal?: AbortSignal): Promise<'present' | 'gone'>;
  /**
   * Account v2 (one request). An odd answer (not JSON, no usable count, a 4xx other than 401)
   * gives `devicesUsed: undefined` rather than an error: the figure is a hint, never needed.
   */
  fetchAccount(signal?: AbortSignal): Promise<AccountInfo>;
}

export interface DevicesApiOptions {
  baseUrl: string;
  pageSize: number;
  send: Send;
  tokens: TokenProvider;
}

type UrlFor = (token: string | undefined) => URL;

export function createDevicesApi(options: DevicesApiOptions): DevicesApi {
  const withToken =
    (path: string, params: Record<string, string>): UrlFor =>
    (token) => {
      const url = new URL(path, options.baseUrl);
      url.search = new URLSearchParams({ access_token: token ?? '', ...params }).toString();
      return url;
    };
  // `limit` defaults to 1 on the server: always send it. Ascending order keeps devices that
  // enrol mid-run at the end of the list instead of shifting every page.
  const pageUrl = (page: number) =>
    withToken(DEVICES_PATH, { limit: String(options.pageSize), page: String(page), order: 'asc', GroupBy: 'none' });
  // opt=0 (the default) says the value is a hwid, not a MAC address: sent so that never changes.
  const detailsUrl = (hwid: string) => withToken(DETAILS_PATH + encodeURIComponent(hwid), { opt: '0' });
  const proof = createCredentialProof();

  /** GET with the token current when the request leaves; on a 401 a renewable token is replaced once and the request repeated. */
  async function getAuthorized(url: UrlFor, ctx: RequestContext, signal?: AbortSignal): Promise<SentResponse> {
    let renewed = false;
    for (;;) {
      const response = await options.send((token) => ({ method: 'GET', url: url(token) }), { ...ctx, tokens: options.tokens }, signal);
      if (response.status !== 401 || !options.tokens.renewable || renewed) return response;
      // Tokens can be revoked or expire early: fetch a new one once, then give up.
      renewed = true;
      if (response.token !== undefined) options.tokens.invalidate(response.token);
    }
  }

  /**
   * One operation of the API, behind the credential proof: until an answer other than 401 has
   * shown the credentials work, operations go one at a time (see CredentialProof).
   */
  function authorized<T>(
    url: UrlFor,
    ctx: RequestContext,
    signal: AbortSignal | undefined,
    judge: (response: SentResponse) => T,
  ): Promise<T> {
    return proof.run(async (prove) => {
      const response = await getAuthorized(url, ctx, signal);
      if (response.status !== 401) prove();
      return judge(response);
    }, signal);
  }

  function fetchDevicePage(page: number, signal?: AbortSignal): Promise<DevicePage> {
    return authorized(pageUrl(page), { what: `devices page ${page}`, page }, signal, (response): DevicePage => {
      if (response.status === 200) return { kind: 'devices', page, devices: parseDeviceArray(response.body, page) };
      if (response.status === 413) return { kind: 'end', page };
      throw new ApiError(statusErrorCode(response.status), `devices request ${describeStatus(response.status)}`, {
        status: response.status,
        page,
        body: snippet(response.body),
      });
    });
  }

  async function fetchDeviceDetails(hwid: string, signal?: AbortSignal): Promise<'present' | 'gone'> {
    // hwids come from the API itself: shortened and escaped, so a hostile one can neither flood
    // a message nor drive the terminal it is printed on.
    const what = `device details for ${printableText(hwid, 64)}`;
    // URL parsing resolves a "." or ".." segment, even percent-encoded: the request would reach
    // another endpoint. No real hwid looks like that, so refuse rather than ask the wrong question.
    if (hwid === '' || hwid === '.' || hwid === '..') {
      throw new ApiError('API_BAD_HWID', `${what}: "${hwid}" cannot be sent as a path segment`);
    }
    return authorized(detailsUrl(hwid), { what }, signal, (response) => {
      // Only the API's own "not found" removes a device: a proxy's or a load balancer's HTML 404
      // (a wrong path, a maintenance page) says nothing about the device.
      if (response.status === 404) {
        if (isJson(response.body)) return 'gone' as const;
        throw new ApiError('API_UNEXPECTED_404', `${what}: HTTP 404 whose body is not the API's JSON, not taken as "device gone"`, {
          status: 404,
          body: snippet(response.body),
        });
      }
      if (response.status === 200) {
        assertDeviceObject(response.body, what);
        return 'present' as const;
      }
      throw new ApiError(statusErrorCode(response.status), `${what}: ${describeStatus(response.status)}`, {
        status: response.status,
        body: snippet(response.body),
      });
    });
  }

  function fetchAccount(signal?: AbortSignal): Promise<AccountInfo> {
    return authorized(withToken(ACCOUNT_PATH, {}), { what: 'account request' }, signal, (response) => {
      if (response.status === 401) {
        throw new ApiError('API_UNAUTHORIZED', `account request ${describeStatus(401)}`, { status: 401, body: snippet(response.body) });
      }
      return { devicesUsed: response.status === 200 ? devicesUsedOf(response.body) : undefined };
    });
  }

  return { fetchDevicePage, fetchDeviceDetails, fetchAccount };
}

/** `devices_used` as a count, or undefined for anything else (a number in a string is accepted). */
function devicesUsedOf(body: string): number | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return undefined;
  const raw = (parsed as { devices_used?: unknown }).devices_used;
  const n = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

/** A 200 whose body is not a JSON array is an error, never an empty page. */
function parseDeviceArray(body: string, page: number): unknown[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new ApiError('API_BAD_BODY', 'devices response is not JSON', { status: 200, page, body: snippet(body) });
  }
  if (!Array.isArray(parsed)) {
    throw new ApiError('API_BAD_BODY', `devices response is not a JSON array (got ${parsed === null ? 'null' : typeof parsed})`, {
      status: 200,
      page,
      body: snippet(body),
    });
  }
  return parsed;
}

/**
 * A details 200 must carry the device as a JSON object: an HTML error page or an empty array
 * answered with 200 would otherwise count as proof that the device still exists.
 */
function assertDeviceObject(body: string, what: string): void {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new ApiError('API_BAD_BODY', `${what}: response is not JSON`, { status: 200, body: snippet(body) });
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    const got = parsed === null ? 'null' : Array.isArray(parsed) ? 'an array' : typeof parsed;
    throw new ApiError('API_BAD_BODY', `${what}: response is not a JSON object (got ${got})`, { status: 200, body: snippet(body) });
  }
}

function isJson(body: string): boolean {
  try {
    JSON.parse(body);
    return true;
  } catch {
    return false;
  }
}
