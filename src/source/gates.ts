import { setMaxListeners } from 'node:events';

/**
 * Two ways requests hold back, so that a failure costs one request instead of every queued one.
 *
 * FailGate: while one request is failing (between a failed attempt and its verdict), the others
 * hold back, so an outage costs one request's retries, not every prefetched page's. The failing
 * request holds the gate; the others wait before they take a rate-limit slot, and those already
 * queued for one leave the queue (`closing`). When the holder succeeds (or stops without a
 * verdict), the others go on; when it fails for good, they fail with its error without trying.
 */
export interface FailGate {
  /**
   * Resolves when no other request holds the gate. Rejects with the holder's error if it failed
   * for good while we waited, or with the signal's reason.
   */
  pass(self: object, signal?: AbortSignal): Promise<void>;
  /** Whether a request other than `self` holds the gate. */
  heldByOther(self: object): boolean;
  /** Aborted when the gate closes: requests waiting for a slot stop waiting and come back to pass(). */
  readonly closing: AbortSignal;
  /** `self` failed an attempt: it takes the gate unless another holds it. True when `self` holds it. */
  hold(self: object): boolean;
  /** `self`'s request succeeded, or stopped without a verdict (cancelled): the others go on. */
  open(self: object): void;
  /** `self`'s request failed for good: the others fail with `error`. */
  fail(self: object, error: unknown): void;
}

interface Hold {
  holder: object;
  /** Settles when the hold ends: resolves on open, rejects with the holder's error on fail. */
  ended: Promise<void>;
  resolve(): void;
  reject(error: unknown): void;
}

export function createFailGate(): FailGate {
  let hold: Hold | undefined;
  let closing = newClosing();

  function end(self: object, outcome: { error: unknown } | undefined): void {
    if (hold?.holder !== self) return;
    const ended = hold;
    hold = undefined;
    if (outcome) ended.reject(outcome.error);
    else ended.resolve();
  }

  return {
    async pass(self, signal) {
      while (hold && hold.holder !== self) {
        signal?.throwIfAborted();
        await raceSignal(hold.ended, signal);
      }
    },
    heldByOther: (self) => hold !== undefined && hold.holder !== self,
    get closing() {
      return closing.signal;
    },
    hold(self) {
      if (hold) return hold.holder === self;
      let resolve!: () => void;
      let reject!: (error: unknown) => void;
      const ended = new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      // Nobody may be waiting when the holder fails: that is not an unhandled rejection.
      ended.catch(() => undefined);
      hold = { holder: self, ended, resolve, reject };
      closing.abort(new Error('another request is failing'));
      closing = newClosing();
      return true;
    },
    open: (self) => end(self, undefined),
    fail: (self, error) => end(self, { error }),
  };
}

/** Every queued request listens to it: lift Node's listener warning. */
function newClosing(): AbortController {
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  return controller;
}

/**
 * Until one request has shown that the credentials work, requests go one at a time: a wrong
 * token then costs one request, not a window of them. The first request is the trial; the
 * others wait for it. When it proves the credentials (`prove()`, called on any answer but a
 * 401), they all go; when it fails without proving them, they fail with its error; when it is
 * cancelled, the next one becomes the trial.
 */
export interface CredentialProof {
  run<T>(operation: (prove: () => void) => Promise<T>, signal?: AbortSignal): Promise<T>;
}

export function createCredentialProof(): CredentialProof {
  let proven = false;
  let trial: Promise<void> | undefined;
  return {
    async run(operation, signal) {
      while (!proven && trial) await raceSignal(trial, signal);
      if (proven) return operation(() => undefined);
      // No await between the check above and this: exactly one caller becomes the trial.
      let release!: () => void;
      let refuse!: (error: unknown) => void;
      trial = new Promise<void>((resolve, reject) => {
        release = resolve;
        refuse = reject;
      });
      trial.catch(() => undefined);
      const prove = () => {
        proven = true;
        release();
      };
      try {
        const result = await operation(prove);
        prove();
        return result;
      } catch (error) {
        if (signal?.aborted) release();
        else refuse(error);
        throw error;
      } finally {
        trial = undefined;
      }
    },
  };
}

/** Waits for `promise` (its rejection is thrown), or for the signal's abort, whichever comes first. */
export function raceSignal<T>(promise: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
