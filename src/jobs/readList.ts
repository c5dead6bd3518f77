import type { Clock } from '../lib/clock.ts';
import type { Logger } from '../lib/logger.ts';
import type { Source } from '../source/createSource.ts';
import { iterateDevicePageGroups, type PageBatch } from '../source/pager.ts';
import { createProgress } from './progress.ts';
import type { RunState } from './runState.ts';
import type { RunStore } from './runStore.ts';
import { mergePrepared, preparePages, type PreparedPages } from './storePages.ts';
import { createWriteBehind } from './writeBehind.ts';

/**
 * Pages that arrive while a transaction runs are stored together in the next, up to this many
 * records. Only a fast source reaches it: the rate-limited API delivers ten pages a window.
 * The cap trades ingest speed against peak memory (measured in BENCHMARKS.md, "ingest").
 */
const MAX_GROUP_RECORDS = 1000;

export interface ReadDeps {
  store: RunStore;
  source: Source;
  clock: Clock;
  logger: Logger;
  signal: AbortSignal;
  /** Sums the source's request figures into the run's counters. */
  syncStats: () => void;
  terminal?: NodeJS.WritableStream | undefined;
}

export interface ReadOptions {
  /** Devices the last succeeded run saw: the basis of the ETA. */
  expected: number | null;
  /** The first read: the last page with devices in the previous run's read. */
  expectedLastPage?: number | undefined;
  /** The first read of a resumed run starts where the interrupted one stopped. */
  startPage?: number;
  /** A re-read: stop once every one of these has been found. */
  lookingFor?: Set<string>;
}

/**
 * Reads the list, storing the pages; returns when the list ends (or all sought are found). Pages
 * are stored one transaction at a time, in order; pages that arrive while one is being written
 * are normalized meanwhile and go into the next (see createWriteBehind).
 */
export async function readList(deps: ReadDeps, state: RunState, options: ReadOptions): Promise<void> {
  const { source } = deps;
  const firstRead = !options.lookingFor;
  const progress = createProgress({
    clock: deps.clock,
    logger: deps.logger,
    expected: options.expected,
    limiter: source.limiter,
    ...(deps.terminal ? { terminal: deps.terminal } : {}),
  });
  const groups = iterateDevicePageGroups({
    api: source.api,
    pageSize: source.pageSize,
    prefetch: source.prefetch,
    signal: deps.signal,
    maxGroupRecords: MAX_GROUP_RECORDS,
    seen: state.keys.seen,
    confirmSeen: (hwids) => state.keys.confirm(hwids),
    skipKeyless: !firstRead,
    ...(options.startPage ? { startPage: options.startPage } : {}),
    ...(options.expectedLastPage === undefined ? {} : { expectedLastPage: options.expectedLastPage }),
    ...(firstRead ? { onListEnd: (page: number) => void (state.endPage = page) } : {}),
  });
  const writer = createWriteBehind<{ group: PageBatch[]; prepared: PreparedPages }>({
    maxRecords: MAX_GROUP_RECORDS,
    write: (items) => writeGroups({ deps, state, progress, firstRead }, items),
  });
  try {
    for await (const group of groups) {
      const prepared = preparePages(group.map((b) => ({ page: b.page, rawDevices: b.devices })));
      state.keys.normalized(prepared);
      await writer.add(
        { group, prepared },
        group.reduce((n, b) => n + b.devices.length, 0),
      );
      if (options.lookingFor) {
        for (const d of prepared.stored) options.lookingFor.delete(d.device.hwid);
        if (options.lookingFor.size === 0) break;
      }
      // Graceful stop: the pages already queued are stored (below), then the run ends as cancelled.
      deps.signal.throwIfAborted();
    }
    await writer.flush();
  } catch (err) {
    // A failed page or a stop: the pages received before it are still stored (unless a write
    // is what failed, or the lock is gone); this loop's error is the one reported.
    if (!state.lockLost.aborted) await writer.flush().catch(() => undefined);
    throw err;
  } finally {
    await writer.abandon();
  }
}

interface WriteContext {
  deps: ReadDeps;
  state: RunState;
  progress: ReturnType<typeof createProgress>;
  firstRead: boolean;
}

/** One transaction for the groups that queued up while the previous one was written. */
async function writeGroups(ctx: WriteContext, items: { group: PageBatch[]; prepared: PreparedPages }[]): Promise<void> {
  const { deps, state } = ctx;
  deps.syncStats();
  const prepared = mergePrepared(items.map((i) => i.prepared));
  const batches = items.flatMap((i) => i.group);
  const lastPage = batches.at(-1)!.page;
  // Resuming starts after the last page committed by the first read (a re-read restarts at 1).
  const nextPage = ctx.firstRead ? lastPage + 1 : state.nextPage;
  const outcome = await deps.store.writePages(prepared, { runId: state.runId, now: state.startedAt, counters: state.counters, nextPage });
  state.keys.committed(prepared);
  state.nextPage = nextPage;
  state.counters.pages += prepared.pages;
  state.counters.devicesSeen += outcome.stored.length;
  state.counters.devicesAdded += outcome.added;
  state.counters.devicesChanged += outcome.changed;
  state.counters.recordsRejected += outcome.rejected;
  ctx.progress.page(lastPage, state.counters.devicesSeen, {
    pages: batches.length,
    duplicates: batches.reduce((n, b) => n + b.duplicates, 0),
    rejected: outcome.rejected,
    recheck: !ctx.firstRead,
  });
}
