/**
 * The requests that may still count in the server's sliding window, each bounded by the latest
 * time the server may have counted its arrival (see RateLimiter for how each bound is chosen).
 * Times are epoch ms.
 */
export interface Slot {
  grantedAt: number;
  sentAt?: number;
  newConnection?: boolean;
  answeredAt?: number;
}

export interface ArrivalWindow {
  add(slot: Slot): void;
  /** A slot whose request never left: the server never saw it. */
  remove(slot: Slot): void;
  /** Requests another run made: each counts exactly as one that arrived at its time. */
  preload(epochTimes: number[]): void;
  /** When the `limit`-th latest arrival will have left the window plus `marginMs`; -Infinity when nothing holds. */
  freeAt(now: number, marginMs: number): number;
  /** The latest `limit` arrival bounds, oldest first. */
  recent(now: number): number[];
}

/**
 * - written on a reused connection: the write time;
 * - written on a new connection: its answer, at most `maxMarginMs` after the write (the server
 *   may count it late: handshake, a server busy accepting a burst of connections);
 * - not written yet: it may leave any moment, so now, and never before `maxMarginMs` after its
 *   grant (what is recorded at the grant); once answered unsent, by then.
 */
export function arrivalBound(slot: Slot, now: number, maxMarginMs: number): number {
  if (slot.sentAt !== undefined) {
    if (!slot.newConnection) return slot.sentAt;
    return Math.min(slot.answeredAt ?? Number.POSITIVE_INFINITY, slot.sentAt + maxMarginMs);
  }
  const latest = slot.grantedAt + maxMarginMs;
  return slot.answeredAt !== undefined ? Math.min(slot.answeredAt, latest) : Math.max(latest, now);
}

export function createArrivalWindow(options: { limit: number; windowMs: number; maxMarginMs: number }): ArrivalWindow {
  const { limit, windowMs, maxMarginMs } = options;
  let slots: Slot[] = [];
  const bound = (slot: Slot, now: number) => arrivalBound(slot, now, maxMarginMs);
  /** Its bound can no longer move: answered, or written on a reused connection. */
  const settled = (s: Slot) => s.answeredAt !== undefined || (s.sentAt !== undefined && !s.newConnection);

  /** Forgets settled slots that have left every window that could still matter. */
  function prune(now: number): void {
    slots = slots.filter((s) => !settled(s) || bound(s, now) + windowMs + maxMarginMs > now);
  }

  return {
    add: (slot) => void slots.push(slot),
    remove(slot) {
      slots = slots.filter((s) => s !== slot);
    },
    preload(epochTimes) {
      const times = epochTimes
        .filter(Number.isFinite)
        .sort((a, b) => a - b)
        .slice(-limit);
      slots.unshift(...times.map((t) => ({ grantedAt: t, sentAt: t, answeredAt: t })));
    },
    freeAt(now, marginMs) {
      prune(now);
      if (slots.length < limit) return Number.NEGATIVE_INFINITY;
      // The limit-th latest, not the limit-th in grant order: requests can leave out of order.
      const latestFirst = slots.map((s) => bound(s, now)).sort((a, b) => b - a);
      return latestFirst[limit - 1]! + windowMs + marginMs;
    },
    recent(now) {
      return slots
        .map((s) => Math.ceil(bound(s, now)))
        .sort((a, b) => a - b)
        .slice(-limit);
    },
  };
}
