/** One simulator's state and the low-level ways it answers: shared by the handlers and the faults. */
import type { ServerResponse } from 'node:http';
import type { createAuth } from './auth.ts';
import type { Fleet } from './fleet.ts';
import type { createRateWindow } from './rateWindow.ts';
import type { Reply } from './replies.ts';
import type { Rng } from './rng.ts';
import type { Fault, RequestLogEntry, SimulatorOptions } from './simulatorTypes.ts';

/** Everything one simulator owns; handlers get it passed in, so simulators never share state. */
export interface State {
  options: SimulatorOptions;
  fleet: Fleet;
  rate: ReturnType<typeof createRateWindow>;
  auth: ReturnType<typeof createAuth>;
  jitter: Rng;
  log: RequestLogEntry[];
  byStatus: Record<number, number>;
  faults: Fault[];
  timers: Set<NodeJS.Timeout>;
  closed: boolean;
  pageHook: ((page: number) => void) | null;
  /**
   * Added to arrival times in the rate window: a day per simulated day (goToDay), so each night's
   * sync meets a window of its own, as nights 24 hours apart do, however fast the demo replays them.
   */
  rateClockOffsetMs: number;
}

/** Timers are tracked so close() can clear them; once closed, waits never end. */
export function wait(state: State, ms: number): Promise<void> {
  if (ms <= 0 && !state.closed) return Promise.resolve();
  return new Promise((resolve) => {
    if (state.closed) return;
    const timer = setTimeout(() => {
      state.timers.delete(timer);
      resolve();
    }, ms);
    state.timers.add(timer);
  });
}

export function latency(state: State): number {
  const { latencyMs = 0, jitterMs = 0 } = state.options;
  return Math.max(0, latencyMs + (state.jitter() * 2 - 1) * jitterMs);
}

export function record(state: State, entry: RequestLogEntry, status: number): void {
  entry.status = status;
  state.byStatus[status] = (state.byStatus[status] ?? 0) + 1;
}

export async function respond(state: State, res: ServerResponse, entry: RequestLogEntry, reply: Reply): Promise<void> {
  await wait(state, latency(state));
  record(state, entry, reply.status);
  if (res.destroyed) return;
  const html = reply.body.trimStart().startsWith('<');
  res.writeHead(reply.status, {
    'content-type': html ? 'text/html; charset=utf-8' : 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(reply.body),
    ...reply.headers,
  });
  res.end(reply.body);
}
