import type { DevicePage, DevicesApi } from './devicesApi.ts';
import { allowManyListeners } from './rateLimiter.ts';
import { createSeenKeys, type SeenKeys } from './seenKeys.ts';
import { ApiError } from '../lib/errors.ts';
import { hwidKey } from '../normalize/hwid.ts';

export { hwidKey };

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
   * The last page that held devices when the previous run read the list (or as estimated). Past
   * it, pages are requested one at a time (a request beyond the end is budget spent on nothing);
   * an end right after it is taken as the end, an end anywhere else after a full page is
   * confirmed by the page after it.
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
  /** Called once with the page that ended the list (it answered 413 or `[]`). */
  onListEnd?: (endPage: number) => void;
  signal?: AbortSignal;
}

export interface PageBatch {
  page: number;
  /** Devices of this page not seen earlier in the run (records without a usable hwid included). */
  devices: unknown[];
  /** Devices dropped because an earlier page already had them (the list shifted mid-run). */
  duplicates: number;
}

type Settled = { ok: true; value: DevicePage } | { ok: false; error: unknown };
/** What a page said about the list: it ended here, it held fewer devices than asked, or a full page. */
type Shape = 'end' | 'short' | 'full';
interface Entry {
  settled: Promise<Settled>;
  cancel: AbortController;
  result?: Settled;
}

/** Pages 1..N in order, one at a time (see iterateDevicePageGroups). */
export async function* iterateDevicePages(options: PagerOptions): AsyncGenerator<PageBatch> {
  for await (const group of iterateDevicePageGroups({ ...options, maxGroupRecords: 0 })) yield* group;
}

/** The list has ended only where a page answers 413 or `[]`. */
function shapeOf(s: Settled | undefined, pageSize: number): Shape | undefined {
  if (!s?.ok) return undefined;
  if (s.value.kind === 'end' || s.value.devices.length === 0) return 'end';
  return s.value.devices.length < pageSize ? 'short' : 'full';
}

/**
 * Pages 1..N in order, in groups of consecutive pages that had all arrived when the consumer
 * asked; hwids are unique across a group. The end of the list is never guessed: it is a page
 * that answers 413 or `[]`, and where that comes early (before the previous run's end, right
 * after a full page) the page after it must say so too. A page that answered "end" while the
 * next one has devices is asked again. Requests queued past the end are cancelled unsent.
 */
export async function* iterateDevicePageGroups(options: PagerOptions): AsyncGenerator<PageBatch[]> {
  const seen = options.seen ?? createSeenKeys();
  const controller = new AbortController();
  allowManyListeners(controller.signal);
  const onParentAbort = () => controller.abort(options.signal?.reason);
  options.signal?.addEventListener('abort', onParentAbort, { once: true });
  const requests = createRequestWindow(options, controller.signal);
  const maxGroup = Math.max(options.maxGroupRecords ?? 0, options.pageSize);
  const horizon = options.expectedLastPage ?? Number.POSITIVE_INFINITY;
  const asked = new Set<number>();
  let group = newGroup();
  try {
    for (let page = options.startPage ?? 1; ;) {
      options.signal?.throwIfAborted();
      requests.launch(Math.max(page, Math.min(page + options.prefetch - 1, horizon)));
      const entry = requests.ensure(page);
      // A group holds only pages that had arrived when asked, and never a failed one: the
      // pages before a failure are handed over (and stored) first.
      if (group.batches.length && (!entry.result?.ok || group.records + options.pageSize > maxGroup)) {
        yield group.batches;
        group = newGroup();
      }
      const settled = await entry.settled;
      requests.take(page);
      if (!settled.ok) throw settled.error;
      const result = settled.value;
      if (result.kind === 'end' || result.devices.length === 0) {
        if (group.batches.length) yield group.batches;
        group = newGroup();
        if (await requests.confirmEnd(page)) {
          options.onListEnd?.(page);
          return;
        }
        if (asked.has(page)) {
          throw new ApiError('API_INCONSISTENT_LIST', `page ${page} answered the end of the list twice, but page ${page + 1} has devices`, {
            page,
          });
        }
        asked.add(page);
        requests.refetch(page);
        continue;
      }
      const devices = await dedupe(result.devices, seen, options, group.keys);
      group.batches.push({ page, devices, duplicates: result.devices.length - devices.length });
      group.records += result.devices.length;
      requests.forget(page);
      page += 1;
    }
  } finally {
    options.signal?.removeEventListener('abort', onParentAbort);
    controller.abort();
  }
}

function newGroup() {
  /** `keys`: hwids kept earlier in the group, not yet stored, so not confirmable in the database. */
  return { batches: [] as PageBatch[], records: 0, keys: new Set<string>() };
}

/**
 * The requests of one read of the list, launched ahead of the consumer but never past the end
 * the answers so far point to. A short page, or an end that needs confirming, holds launching at
 * the page after it until that page answers: with devices, the read goes on; if it ends the list
 * too, the requests queued beyond it are cancelled before they take a rate-limit slot.
 */
function createRequestWindow(options: PagerOptions, parent: AbortSignal) {
  const inflight = new Map<number, Entry>();
  const shapes = new Map<number, Shape>();
  let nextToLaunch = options.startPage ?? 1;
  let stopAfter = Number.POSITIVE_INFINITY;
  /**
   * An end right after a short page or another end is the end; so is one exactly where the
   * previous read ended. Anywhere else (after a full page: a transient `[]`, a list that grew or
   * shrank, a first run) the page after it must say so too.
   */
  const trusted = (page: number) => {
    const before = shapes.get(page - 1);
    const after = shapes.get(page + 1);
    if (after === 'full' || after === 'short') return false;
    return before === 'short' || before === 'end' || page === (options.expectedLastPage ?? -1) + 1;
  };

  function start(page: number): Entry {
    const cancel = new AbortController();
    const follow = () => cancel.abort(parent.reason);
    parent.addEventListener('abort', follow, { once: true });
    const entry: Entry = {
      cancel,
      settled: settle(options.api.fetchDevicePage(page, cancel.signal)).then((s) => {
        parent.removeEventListener('abort', follow);
        entry.result = s;
        // Noticed on arrival, not when the page's turn to be stored comes: a request still
        // waiting for a rate-limit slot past the end is not worth sending.
        if (inflight.get(page) === entry) arrived(page, s);
        return s;
      }),
    };
    inflight.set(page, entry);
    return entry;
  }

  function arrived(page: number, s: Settled): void {
    const shape = shapeOf(s, options.pageSize);
    if (!shape) return;
    shapes.set(page, shape);
    let stop = Number.POSITIVE_INFINITY;
    for (const [p, sh] of shapes) {
      const next = shapes.get(p + 1);
      if (sh === 'end' && trusted(p)) stop = Math.min(stop, p);
      else if ((sh === 'short' || sh === 'end') && (next === undefined || next === 'end')) stop = Math.min(stop, p + 1);
    }
    stopAfter = stop;
    for (const [p, entry] of inflight) {
      if (p > stop && !entry.result) {
        entry.cancel.abort();
        inflight.delete(p);
        nextToLaunch = Math.min(nextToLaunch, p);
      }
    }
  }

  return {
    launch(upTo: number): void {
      for (; nextToLaunch <= Math.min(upTo, stopAfter); nextToLaunch++) if (!inflight.has(nextToLaunch)) start(nextToLaunch);
    },
    /** The consumer's page is always requested, whatever the window thinks of the end. */
    ensure: (page: number): Entry => inflight.get(page) ?? start(page),
    take: (page: number) => void inflight.delete(page),
    refetch: (page: number) => void start(page),
    /** Whether the end at `page` is the list's end, asking the page after it when in doubt. */
    async confirmEnd(page: number): Promise<boolean> {
      if (trusted(page)) return true;
      const next = await this.ensure(page + 1).settled;
      if (!next.ok) throw next.error;
      return shapeOf(next, options.pageSize) === 'end';
    },
    /** Shapes before `page` no longer matter: keep `page`, which the next page's end may need. */
    forget(page: number): void {
      for (const p of shapes.keys()) if (p < page) shapes.delete(p);
    },
  };
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
    const confirmed =
      toConfirm.length === 0 ? new Set<string>() : options.confirmSeen ? await options.confirmSeen(toConfirm) : new Set(toConfirm);
    const duplicates = new Set([...inGroup, ...confirmed]);
    result = kept.filter((k) => k.key === undefined || !duplicates.has(k.key));
  }
  for (const k of result) if (k.key !== undefined) groupKeys.add(k.key);
  return result.map((k) => k.raw);
}

function settle(promise: Promise<DevicePage>): Promise<Settled> {
  return promise.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
}
