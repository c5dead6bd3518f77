import type { Permit, RateLimiter } from './rateLimiter.ts';

/**
 * Slots for the token request. A request whose token is due for renewal when its slot comes
 * offers the slot here instead of giving it back: the token request takes it rather than queue
 * for one (behind everyone, or behind slots held by requests that wait for the token), and the
 * requests whose slots it did not need send with them as soon as the new token is there.
 * Giving slots back instead would let each queued request in turn take one, find the same stale
 * token and queue again.
 */
export interface SlotPool {
  /** For the token request: an offered slot, or the next grant, whichever comes first. */
  take(signal?: AbortSignal): Promise<Permit>;
  /**
   * Offers a granted, unsent slot. Returns a function that takes it back: the permit if the
   * token request did not use it, undefined if it did.
   */
  offer(permit: Permit): () => Permit | undefined;
}

export function createSlotPool(limiter: RateLimiter): SlotPool {
  const offered: Permit[] = [];
  const takers: ((permit: Permit) => void)[] = [];

  async function take(signal?: AbortSignal): Promise<Permit> {
    const ready = offered.shift();
    if (ready) return ready;
    const stopWaiting = new AbortController();
    let give!: (permit: Permit) => void;
    const donated = new Promise<Permit>((resolve) => (give = resolve));
    const taker = (permit: Permit) => {
      stopWaiting.abort();
      give(permit);
    };
    takers.push(taker);
    const granted = limiter.acquire(signal ? AbortSignal.any([signal, stopWaiting.signal]) : stopWaiting.signal, { first: true });
    granted.catch(() => undefined);
    let winner: Permit | undefined;
    try {
      winner = await Promise.race([granted, donated]);
      return winner;
    } finally {
      const i = takers.indexOf(taker);
      if (i >= 0) takers.splice(i, 1);
      // Both can arrive: the one not used is given back unsent.
      void granted.then(
        (p) => p !== winner && p.cancel(),
        () => undefined,
      );
      void donated.then((p) => p !== winner && p.cancel());
    }
  }

  return {
    take,
    offer(permit) {
      const taker = takers.shift();
      if (taker) {
        taker(permit);
        return () => undefined;
      }
      offered.push(permit);
      return () => {
        const i = offered.indexOf(permit);
        if (i < 0) return undefined;
        offered.splice(i, 1);
        return permit;
      };
    },
  };
}
