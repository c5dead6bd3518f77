/**
 * Writes items one batch at a time, in order, without making the producer wait for each write:
 * while one batch is being written, the items that arrive are collected into the next (up to
 * `maxRecords`; past that the producer waits). Against the rate-limited API every page is
 * written as it arrives; when pages arrive faster than they are stored, batches grow instead of
 * transactions queueing up.
 */
export interface WriteBehind<T> {
  /** Queues an item of `records` records; throws the error of an earlier failed write. */
  add(item: T, records: number): Promise<void>;
  /** Waits until everything added is written; throws the error of a failed write. */
  flush(): Promise<void>;
  /** Starts no further write and waits for the one under way (leaving after an error). */
  abandon(): Promise<void>;
}

export function createWriteBehind<T>(options: { write(items: T[]): Promise<void>; maxRecords: number }): WriteBehind<T> {
  let inflight: Promise<void> | null = null;
  let pending: T[] = [];
  let pendingRecords = 0;
  let failure: { error: unknown } | null = null;
  let stopped = false;

  // `inflight` never rejects: a failure is kept and thrown to the producer at its next call.
  function start(): void {
    const items = pending;
    pending = [];
    pendingRecords = 0;
    inflight = options.write(items).then(
      () => {
        inflight = null;
        if (pending.length > 0 && !stopped) start();
      },
      (error: unknown) => {
        inflight = null;
        failure ??= { error };
      },
    );
  }
  async function idle(): Promise<void> {
    while (inflight) await inflight;
  }
  const rethrow = () => {
    if (failure) throw failure.error;
  };

  return {
    async add(item, records) {
      rethrow();
      // Full: wait for the write under way; its completion starts writing what is pending.
      while (pending.length > 0 && pendingRecords + records > options.maxRecords && inflight) {
        await inflight;
        rethrow();
      }
      pending.push(item);
      pendingRecords += records;
      if (!inflight) start();
    },
    async flush() {
      await idle();
      rethrow();
    },
    async abandon() {
      stopped = true;
      await idle();
    },
  };
}
