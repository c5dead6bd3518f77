import type { DevicePage, DevicesApi } from './devicesApi.ts';
import { allowManyListeners } from './rateLimiter.ts';
import { createSeenKeys, type SeenKeys } from './seenKeys.ts';

export interface PagerOptions {
  api: DevicesApi;
  pageSize: number;
  /**
   * Pages requested ahead of the one being stored. With server latency, one request at a time
   * would leave rate budget unused; the limiter still decides when each one starts.
   */
  prefetch: number;
  /** hwids already handled in this run; shared with a recheck pass so nothing is stored twice. */
  seen?: SeenKeys;
  /**
   * Of these hwids, which were really handled earlier in the run? `seen` keeps hashes, so a hit
   * is only probable; without this, every hit counts as a duplicate.
   */
  confirmSeen?: (hwids: string[]) => Promise<Set<string>>;
  startPage?: number;
  /**
   * The last page the previous run found. Past it, pages are requested one at a time: a request
   * for a page beyond the end is rate budget spent on nothing.
   */
  expectedLastPage?: number;
  /** Drop records without a usable hwid (a re-read must not reject them a second time). */
  skipKeyless?: boolean;
  /**
   * iterateDevicePageGroups: pages already answered when the consumer asks are handed over
   * together, up to this many records (default: one page). Against the rate-limited API a group
   * is usually one page; when pages arrive faster than they are stored, groups save a
   * transaction per page.
   */
  maxGroupRecords?: number;
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

/** Pages 1..N in order, one at a time (see iterateDevicePageGroups). */
export async function* iterateDevicePages(options: PagerOptions): AsyncGenerator<PageBatch> {
  for await (const group of iterateDevicePageGroups({ ...options, maxGroupRecords: 0 })) yield* group;
}

/**
 * Pages 1..N in order, in groups of consecutive pages that had all arrived when the consumer
 * asked; hwids are unique across a group. The list ends at a 413, at an empty page, or after a
 * page shorter than `pageSize`. Requests for pages past the end that were queued but not sent
 * are cancelled.
 */
export async function* iterateDevicePageGroups(options: PagerOptions): AsyncGenerator<PageBatch[]> {
  const seen = options.seen ?? createSeenKeys();
  const controller = new AbortController();
  allowManyListeners(controller.signal);
  const onParentAbort = () => controller.abort(options.signal?.reason);
  options.signal?.addEventListener('abort', onParentAbort, { once: true });
  const inflight = new Map<number, { settled: Promise<Settled>; cancel: AbortController; result?: Settled }>();
  let nextToLaunch = options.startPage ?? 1;
  /** The first page known to end the list: nothing past it is launched, and what is queued is cancelled. */
  let endPage = Number.POSITIVE_INFINITY;
  const isEnd = (s: Settled) => s.ok && (s.value.kind === 'end' || s.value.devices.length < options.pageSize);
  const onEnd = (page: number) => {
    endPage = Math.min(endPage, page);
    for (const [p, entry] of inflight) if (p > endPage) entry.cancel.abort();
  };
  const launch = (upTo: number) => {
    for (; nextToLaunch <= Math.min(upTo, endPage); nextToLaunch++) {
      const page = nextToLaunch;
      const cancel = new AbortController();
      const follow = () => cancel.abort(controller.signal.reason);
      controller.signal.addEventListener('abort', follow, { once: true });
      // Noticed when the response arrives, not when its turn to be stored comes: a request
      // still waiting for a rate-limit slot is not worth sending.
      const entry: { settled: Promise<Settled>; cancel: AbortController; result?: Settled } = {
        cancel,
        settled: settle(options.api.fetchDevicePage(page, cancel.signal)).then((s) => {
          controller.signal.removeEventListener('abort', follow);
          if (isEnd(s)) onEnd(page);
          entry.result = s;
          return s;
        }),
      };
      inflight.set(page, entry);
    }
  };
  const maxGroup = Math.max(options.maxGroupRecords ?? 0, options.pageSize);
  try {
    for (let page = options.startPage ?? 1; ;) {
      options.signal?.throwIfAborted();
      const horizon = options.expectedLastPage ?? Number.POSITIVE_INFINITY;
      launch(Math.max(page, Math.min(page + options.prefetch - 1, horizon)));
      let settled: Settled | undefined = await inflight.get(page)!.settled;
      const group: PageBatch[] = [];
      const groupKeys = new Set<string>();
      let records = 0;
      // A page that failed is only taken first in a group, so the pages before it are stored.
      for (; settled; settled = peekReady(inflight.get(page)?.result, records + options.pageSize <= maxGroup)) {
        inflight.delete(page);
        if (!settled.ok) throw settled.error;
        const result = settled.value;
        if (result.kind === 'end' || result.devices.length === 0) {
          if (group.length) yield group;
          return;
        }
        const last = result.devices.length < options.pageSize;
        if (last) controller.abort();
        const devices = await dedupe(result.devices, seen, options, groupKeys);
        group.push({ page, devices, duplicates: result.devices.length - devices.length, last });
        records += result.devices.length;
        page += 1;
        if (last) {
          yield group;
          return;
        }
      }
      yield group;
    }
  } finally {
    options.signal?.removeEventListener('abort', onParentAbort);
    controller.abort();
  }
}

/** The next page joins the group only if it has already arrived, fits, and did not fail. */
function peekReady(result: Settled | undefined, fits: boolean): Settled | undefined {
  return fits && result?.ok ? result : undefined;
}

/** The key the normalizer will use; undefined for records it will reject. */
export function hwidKey(raw: unknown): string | undefined {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return undefined;
  const hwid = (raw as { hwid?: unknown }).hwid;
  if (typeof hwid === 'string') return hwid.trim() || undefined;
  if (typeof hwid === 'number' && Number.isFinite(hwid)) return String(hwid);
  return undefined;
}

/** `groupKeys`: hwids kept earlier in the same group, not yet stored, so not confirmable in the database. */
async function dedupe(devices: unknown[], seen: SeenKeys, options: PagerOptions, groupKeys: Set<string>): Promise<unknown[]> {
  const inPage = new Set<string>();
  const probable: string[] = [];
  const kept: { raw: unknown; key: string | undefined }[] = [];
  for (const raw of devices) {
    const key = hwidKey(raw);
    if (key === undefined && options.skipKeyless) continue;
    if (key !== undefined) {
      if (inPage.has(key)) continue;
      inPage.add(key);
      if (!seen.add(key)) probable.push(key);
    }
    kept.push({ raw, key });
  }
  let result = kept;
  if (probable.length > 0) {
    const inGroup = probable.filter((key) => groupKeys.has(key));
    const toConfirm = probable.filter((key) => !groupKeys.has(key));
    const confirmed = toConfirm.length === 0 ? new Set<string>() : options.confirmSeen ? await options.confirmSeen(toConfirm) : new Set(toConfirm);
    const duplicates = new Set([...inGroup, ...confirmed]);
    result = kept.filter((k) => k.key === undefined || !duplicates.has(k.key));
  }
  for (const k of result) if (k.key !== undefined) groupKeys.add(k.key);
  return result.map((k) => k.raw);
}

function settle(promise: Promise<DevicePage>): Promise<Settled> {
  return promise.then((value) => ({ ok: true as const, value }), (error: unknown) => ({ ok: false as const, error }));
}
