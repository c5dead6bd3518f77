import { ApiError } from '../lib/errors.ts';
import { describeStatus, snippet, type Send } from './sender.ts';
import type { TokenProvider } from './tokenProvider.ts';

export const DEVICES_PATH = '/o/api/v2.3/devices';

export type DevicePage = { kind: 'devices'; page: number; devices: unknown[] } | { kind: 'end'; page: number };

export interface DevicesApi {
  /** One page of the device list; `end` when the API says the page is past the last one (413). */
  fetchDevicePage(page: number, signal?: AbortSignal): Promise<DevicePage>;
}

export interface DevicesApiOptions {
  baseUrl: string;
  pageSize: number;
  send: Send;
  tokens: TokenProvider;
}

export function createDevicesApi(options: DevicesApiOptions): DevicesApi {
  const buildUrl = (page: number, token: string) => {
    const url = new URL(DEVICES_PATH, options.baseUrl);
    // `limit` defaults to 1 on the server: always send it. Ascending order keeps devices that
    // enrol mid-run at the end of the list instead of shifting every page.
    url.search = new URLSearchParams({
      access_token: token, limit: String(options.pageSize), page: String(page), order: 'asc', GroupBy: 'none',
    }).toString();
    return url;
  };

  async function fetchDevicePage(page: number, signal?: AbortSignal): Promise<DevicePage> {
    let renewed = false;
    for (;;) {
      const token = await options.tokens.getToken(signal);
      const response = await options.send(() => ({ method: 'GET', url: buildUrl(page, token) }), { what: `devices page ${page}`, page }, signal);
      if (response.status === 200) return { kind: 'devices', page, devices: parseDeviceArray(response.body, page) };
      if (response.status === 413) return { kind: 'end', page };
      if (response.status === 401 && options.tokens.renewable && !renewed) {
        // Tokens can be revoked or expire early: fetch a new one once, then give up.
        renewed = true;
        options.tokens.invalidate(token);
        continue;
      }
      throw new ApiError(statusCode(response.status), `devices request ${describeStatus(response.status)}`, {
        status: response.status, page, body: snippet(response.body),
      });
    }
  }
  return { fetchDevicePage };
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
