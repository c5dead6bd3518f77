import type { DevicePage, DevicesApi } from './devicesApi.ts';
import { allowManyListeners } from './rateLimiter.ts';

export interface PagerOptions {
  api: DevicesApi;
  pageSize: number;
  /**
   * Pages requested ahead of the one being stored. With server latency, one request at a time
   * would leave rate budget unused; the limiter still decides when each one starts.
   */
  prefetch: number;
  /** hwids already handled in this run; shared with a recheck pass so nothing is stored twice. */
  seen?: Set<string>;
  startPage?: number;
  /**
   * The last page the previous run found. Past it, pages are requested one at a time: a request
   * for a page beyond the end is rate budget spent on nothing.
   */
  expectedLastPage?: number;
  /** Drop records without a usable hwid (a re-read must not reject them a second time). */
  skipKeyless?: boolean;
  signal?: AbortSignal;
}

export interface PageBatch {
  page: number;
  /** Devices of this page not seen earlier in the run (records without a usable hwid included). */
  devices: unknown[];
  /** Devices dropped because an earlier page already had them (the list shifted mid-run). */
  duplicates: number;
  /** Whether this is the last page (shorter than the page size). */
  last: boolean;
}

type Settled = { ok: true; value: DevicePage } | { ok: false; error: unknown };

/**
 * Pages 1..N in order. The list ends at a 413, at an empty page, or after a page shorter than
 * `pageSize`. Requests for pages past the end that were queued but not sent are cancelled.
 */
export async function* iterateDevicePages(options: PagerOptions): AsyncGenerator<PageBatch> {
  const seen = options.seen ?? new Set<string>();
  const controller = new AbortController();
  allowManyListeners(controller.signal);
  const onParentAbort = () => controller.abort(options.signal?.reason);
  options.signal?.addEventListener('abort', onParentAbort, { once: true });
  const inflight = new Map<number, Promise<Settled>>();
  let nextToLaunch = options.startPage ?? 1;
  const launch = (upTo: number) => {
    for (; nextToLaunch <= upTo; nextToLaunch++) {
      inflight.set(nextToLaunch, settle(options.api.fetchDevicePage(nextToLaunch, controller.signal)));
    }
  };
  try {
    for (let page = options.startPage ?? 1; ; page++) {
      options.signal?.throwIfAborted();
      const horizon = options.expectedLastPage ?? Number.POSITIVE_INFINITY;
      launch(Math.max(page, Math.min(page + options.prefetch - 1, horizon)));
      const settled = await inflight.get(page)!;
      inflight.delete(page);
      if (!settled.ok) throw settled.error;
      const result = settled.value;
      if (result.kind === 'end' || result.devices.length === 0) return;
      const last = result.devices.length < options.pageSize;
      if (last) controller.abort();
      const devices = dedupe(result.devices, seen, options.skipKeyless ?? false);
      yield { page, devices, duplicates: result.devices.length - devices.length, last };
      if (last) return;
    }
  } finally {
    options.signal?.removeEventListener('abort', onParentAbort);
    controller.abort();
  }
}

/** The key the normalizer will use; undefined for records it will reject. */
export function hwidKey(raw: unknown): string | undefined {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return undefined;
  const hwid = (raw as { hwid?: unknown }).hwid;
  if (typeof hwid === 'string') return hwid.trim() || undefined;
  if (typeof hwid === 'number' && Number.isFinite(hwid)) return String(hwid);
  return undefined;
}

function dedupe(devices: unknown[], seen: Set<string>, skipKeyless: boolean): unknown[] {
  const out: unknown[] = [];
  for (const raw of devices) {
    const key = hwidKey(raw);
    if (key === undefined && skipKeyless) continue;
    if (key !== undefined) {
      if (seen.has(key)) continue;
      seen.add(key);
    }
    out.push(raw);
  }
  return out;
}

function settle(promise: Promise<DevicePage>): Promise<Settled> {
  return promise.then((value) => ({ ok: true as const, value }), (error: unknown) => ({ ok: false as const, error }));
}
