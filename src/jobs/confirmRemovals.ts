import type { RemovalConfirm } from '../config/config.ts';
import type { MissingDevice, RemovalRule } from '../db/devicesStore.ts';
import { errorMessage } from '../lib/errors.ts';
import type { Logger } from '../lib/logger.ts';
import { allowManyListeners } from '../source/rateLimiter.ts';
import { evaluateRemovalGuard } from './removalGuard.ts';

/** A device the list has not shown for this many complete runs, though Device Details finds it, is removed (archived). */
export const ARCHIVE_AT_MISSES = 3;
/** At least this many lookups per run, even when a read of the list costs fewer requests. */
const MIN_LOOKUP_BUDGET = 10;

export interface RemovalPorts {
  /** Present devices the run has not seen, those missed longest first. */
  selectMissing(): Promise<MissingDevice[]>;
  /** Reads the list again, stopping once every one of these has been found. */
  reread(lookingFor: Set<string>): Promise<void>;
  /** Device Details for one device (through the rate limiter). */
  lookup(hwid: string, signal?: AbortSignal): Promise<'present' | 'gone'>;
}

export interface RemovalContext {
  mode: RemovalConfirm;
  guardPercent: number;
  presentBefore: number;
  /** Devices the run stored (read after a re-read too). */
  seen: () => number;
  /** Requests one read of the list costs: lookups beyond that are dearer than a re-read. */
  listCost: number;
  /** Lookups in flight at once; the rate limiter sets the pace. */
  concurrency: number;
  logger: Logger;
  signal?: AbortSignal;
}

export type RemovalDecision = { trusted: true; rule: RemovalRule | undefined; notes: string[] } | { trusted: false; notes: string[] };

/**
 * Decides, after a complete read of the list, which missing devices are removed. The list
 * shifts while it is read and can come back truncated, so absence alone proves little:
 * - `lookup`: each missing device is asked for by Device Details (404 → removed; 200 → kept).
 *   When there are more of them than a read of the list costs, the list is read again first,
 *   and lookups go to those no lookup has found yet, up to that cost; the rest are kept, and
 *   later runs look them up in turn. Only a 404 removes (or, for a device the list has hidden for
 *   three complete runs while lookups kept finding it, being archived).
 * - `recheck`: the list is read again; what it still misses is removed.
 * - `next-run`: removed when two complete runs in a row missed it.
 * The guard stops everything when the list looked truncated.
 */
export async function confirmRemovals(ports: RemovalPorts, ctx: RemovalContext): Promise<RemovalDecision> {
  let missing = await ports.selectMissing();
  if (missing.length === 0) return { trusted: true, rule: undefined, notes: [] };
  const tripped = guard(ctx, missing.length);
  if (tripped) return tripped;
  const budget = Math.max(ctx.listCost, MIN_LOOKUP_BUDGET);
  if (ctx.mode === 'recheck' || (ctx.mode === 'lookup' && missing.length > budget)) {
    ctx.logger.info('reading the list again for missing devices', { missing: missing.length });
    await ports.reread(new Set(missing.map((d) => d.hwid)));
    missing = await ports.selectMissing();
  }
  if (ctx.mode !== 'lookup') {
    const removeAtMisses = ctx.mode === 'recheck' ? 1 : 2;
    const rule = { gone: [], found: [], removeAtMisses, archiveAtMisses: removeAtMisses };
    return guard(ctx, missing.filter((d) => d.missedRuns + 1 >= removeAtMisses).length) ?? { trusted: true, rule, notes: [] };
  }
  const looked = await lookupAll(ports, missing.slice(0, budget), ctx);
  // Only a lookup removes: a device no lookup has answered for is kept, however often the list
  // misses it (a page that keeps coming back short must not cost a present device).
  const rule: RemovalRule = { ...looked, removeAtMisses: null, archiveAtMisses: ARCHIVE_AT_MISSES };
  const notes = [...looked.notes];
  const deferred = missing.length - looked.gone.length - looked.found.length;
  if (deferred > 0)
    notes.push(`${deferred} missing devices not looked up this run (budget ${budget} lookups); kept until a lookup answers for them`);
  const doomed = countDoomed(missing, rule);
  return guard(ctx, doomed) ?? { trusted: true, rule, notes };
}

function guard(ctx: RemovalContext, missing: number): RemovalDecision | undefined {
  const decision = evaluateRemovalGuard({ presentBefore: ctx.presentBefore, seen: ctx.seen(), missing, guardPercent: ctx.guardPercent });
  if (decision.allowed) return undefined;
  ctx.logger.warn(decision.reason, { missing, presentBefore: ctx.presentBefore });
  return { trusted: false, notes: [`${decision.reason}; this run adds no snapshot to the trend`] };
}

/** How many of the missing devices the rule removes (for the guard, before anything is written). */
function countDoomed(missing: MissingDevice[], rule: RemovalRule): number {
  const gone = new Set(rule.gone);
  const found = new Set(rule.found);
  return missing.filter((d) => {
    if (gone.has(d.hwid)) return true;
    if (found.has(d.hwid)) return d.missedRuns + 1 >= rule.archiveAtMisses;
    return rule.removeAtMisses !== null && !d.lookupFound && d.missedRuns + 1 >= rule.removeAtMisses;
  }).length;
}

/**
 * Looks the devices up, `concurrency` at a time. The first lookup that fails (after the sender's
 * retries) stops the rest: those devices are simply not confirmed this run.
 */
async function lookupAll(ports: RemovalPorts, devices: MissingDevice[], ctx: RemovalContext) {
  const gone: string[] = [];
  const found: string[] = [];
  const notes: string[] = [];
  const stop = new AbortController();
  const signal = ctx.signal ? AbortSignal.any([ctx.signal, stop.signal]) : stop.signal;
  allowManyListeners(signal);
  let next = 0;
  const worker = async () => {
    while (next < devices.length && !signal.aborted) {
      const device = devices[next++]!;
      try {
        ((await ports.lookup(device.hwid, signal)) === 'gone' ? gone : found).push(device.hwid);
      } catch (err) {
        ctx.signal?.throwIfAborted();
        if (stop.signal.aborted) return;
        stop.abort();
        notes.push(`lookups stopped: ${errorMessage(err)}`);
        ctx.logger.warn('device lookup failed; the devices not looked up are kept this run', { error: errorMessage(err) });
      }
    }
  };
  ctx.logger.info('looking up missing devices', { lookups: devices.length });
  await Promise.all(Array.from({ length: Math.max(1, Math.min(ctx.concurrency, devices.length)) }, worker));
  return { gone, found, notes };
}
