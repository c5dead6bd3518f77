import { ApiError } from '../lib/errors.ts';
import { truncate } from '../lib/redact.ts';
import { describeStatus, snippet, type RequestContext, type Send } from './sender.ts';
import type { TokenProvider } from './tokenProvider.ts';
import type { HttpResponse } from './transport.ts';

export const DEVICES_PATH = '/o/api/v2.3/devices';
/** Device Details v2.1; the hwid follows as one path segment. */
export const DETAILS_PATH = '/o/api/v2.1/devices/';

export type DevicePage = { kind: 'devices'; page: number; devices: unknown[] } | { kind: 'end'; page: number };

export interface DevicesApi {
  /** One page of the device list; `end` when the API says the page is past the last one (413). */
  fetchDevicePage(page: number, signal?: AbortSignal): Promise<DevicePage>;
  /** Whether the account still has the device: Device Details answers 200 (present) or 404 (gone). */
  fetchDeviceDetails(hwid: string, signal?: AbortSignal): Promise<'present' | 'gone'>;
}

export interface DevicesApiOptions {
  baseUrl: string;
  pageSize: number;
  send: Send;
  tokens: TokenProvider;
}

export function createDevicesApi(options: DevicesApiOptions): DevicesApi {
  const pageUrl = (page: number) => (token: string) => {
    const url = new URL(DEVICES_PATH, options.baseUrl);
    // `limit` defaults to 1 on the server: always send it. Ascending order keeps devices that
    // enrol mid-run at the end of the list instead of shifting every page.
    url.search = new URLSearchParams({
      access_token: token, limit: String(options.pageSize), page: String(page), order: 'asc', GroupBy: 'none',
    }).toString();
    return url;
  };
  const detailsUrl = (hwid: string) => (token: string) => {
    const url = new URL(DETAILS_PATH + encodeURIComponent(hwid), options.baseUrl);
    // opt=0 (the default) says the value is a hwid, not a MAC address: sent so that never changes.
    url.search = new URLSearchParams({ access_token: token, opt: '0' }).toString();
    return url;
  };

  /** GET with the current token; on a 401 a renewable token is replaced once and the request repeated. */
  async function getAuthorized(url: (token: string) => URL, ctx: RequestContext, signal?: AbortSignal): Promise<HttpResponse> {
    let renewed = false;
    for (;;) {
      const token = await options.tokens.getToken(signal);
      const response = await options.send(() => ({ method: 'GET', url: url(token) }), ctx, signal);
      if (response.status !== 401 || !options.tokens.renewable || renewed) return response;
      // Tokens can be revoked or expire early: fetch a new one once, then give up.
      renewed = true;
      options.tokens.invalidate(token);
    }
  }

  async function fetchDevicePage(page: number, signal?: AbortSignal): Promise<DevicePage> {
    const response = await getAuthorized(pageUrl(page), { what: `devices page ${page}`, page }, signal);
    if (response.status === 200) return { kind: 'devices', page, devices: parseDeviceArray(response.body, page) };
    if (response.status === 413) return { kind: 'end', page };
    throw new ApiError(statusCode(response.status), `devices request ${describeStatus(response.status)}`, {
      status: response.status, page, body: snippet(response.body),
    });
  }

  async function fetchDeviceDetails(hwid: string, signal?: AbortSignal): Promise<'present' | 'gone'> {
    // hwids come from the API itself: shorten them so a hostile one cannot flood a message.
    const what = `device details for ${truncate(hwid, 64)}`;
    // URL parsing resolves a "." or ".." segment, even percent-encoded: the request would reach
    // another endpoint. No real hwid looks like that, so refuse rather than ask the wrong question.
    if (hwid === '' || hwid === '.' || hwid === '..') {
      throw new ApiError('API_BAD_HWID', `${what}: "${hwid}" cannot be sent as a path segment`);
    }
    const response = await getAuthorized(detailsUrl(hwid), { what }, signal);
    if (response.status === 404) return 'gone';
    if (response.status === 200) {
      assertDeviceObject(response.body, what);
      return 'present';
    }
    throw new ApiError(statusCode(response.status), `${what}: ${describeStatus(response.status)}`, {
      status: response.status, body: snippet(response.body),
    });
  }
  return { fetchDevicePage, fetchDeviceDetails };
}

function statusCode(status: number): string {
  if (status === 401) return 'API_UNAUTHORIZED';
  if (status === 406) return 'API_LIMIT_REJECTED';
  if (status === 429) return 'API_RATE_LIMITED';
  if (status >= 500) return 'API_SERVER_ERROR';
  return 'API_HTTP_ERROR';
}

/** A 200 whose body is not a JSON array is an error, never an empty page. */
export function parseDeviceArray(body: string, page: number): unknown[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new ApiError('API_BAD_BODY', 'devices response is not JSON', { status: 200, page, body: snippet(body) });
  }
  if (!Array.isArray(parsed)) {
    throw new ApiError('API_BAD_BODY', `devices response is not a JSON array (got ${parsed === null ? 'null' : typeof parsed})`, {
      status: 200, page, body: snippet(body),
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
