import type { RunCounters } from '../db/runs.ts';
import { createSeenKeys, type SeenKeys } from '../source/seenKeys.ts';
import type { PreparedPages } from './storePages.ts';

/**
 * The rule "each device once per sync" in one place. A hwid is handled once it was normalized
 * (stored, or about to be); the pager drops a record whose hwid was handled, asking `confirm`
 * about probable repeats (the seen set holds 4-byte hashes, so a hit is only probable). Until it
 * is committed, a handled hwid is in `unwritten` too: invisible to the database. (A record the
 * normalizer rejects has no usable hwid — the property tests hold it to that — so it has nothing
 * to count as seen.) A resumed run starts with what the earlier attempts stored.
 */
export interface RunKeys {
  readonly seen: SeenKeys;
  confirm(hwids: string[]): Promise<Set<string>>;
  /** A group was normalized: its devices are handled from now on. */
  normalized(prepared: PreparedPages): void;
  /** A group was committed: the database now answers for its devices. */
  committed(prepared: PreparedPages): void;
  /** Resume: what the earlier attempts of the sync stored. */
  preload(stored: string[]): void;
}

export function createRunKeys(storedInSync: (hwids: string[]) => Promise<string[]>): RunKeys {
  const seen = createSeenKeys();
  const unwritten = new Set<string>();
  return {
    seen,
    async confirm(hwids) {
      // Taken before the query: a group that commits while the query runs is caught by one or the other.
      const known = hwids.filter((h) => unwritten.has(h));
      return new Set([...known, ...(await storedInSync(hwids))]);
    },
    normalized(prepared) {
      for (const d of prepared.stored) unwritten.add(d.device.hwid);
    },
    committed(prepared) {
      for (const d of prepared.stored) unwritten.delete(d.device.hwid);
    },
    preload(stored) {
      for (const hwid of stored) seen.add(hwid);
    },
  };
}

/** Everything one run keeps while it works; written to its row at each commit and at the end. */
export interface RunState {
  runId: number;
  /** Every run of the logical sync: this one, and the interrupted attempts it resumed. */
  attempts: number[];
  startedAt: Date;
  counters: RunCounters;
  keys: RunKeys;
  notes: string[];
  /** The page that ended the list in the first read. */
  endPage: number | undefined;
  /** The first page of the first read not yet committed: where a run resuming this one starts. */
  nextPage: number;
  /** Aborted when the run lock is lost: nothing more may be written or requested. */
  lockLost: AbortSignal;
}

export function emptyCounters(): RunCounters {
  return {
    pages: 0,
    requests: 0,
    retries: 0,
    rateLimited: 0,
    rateLimitWaitMs: 0,
    devicesSeen: 0,
    devicesAdded: 0,
    devicesChanged: 0,
    devicesRemoved: 0,
    recordsRejected: 0,
  };
}
