/** The simulator's public types: its options, its request log and its control surface. */
import type { ListOrder, RawDevice } from './devices.ts';

export interface Fault {
  /** Which requests it applies to. Omitted fields match anything. */
  match?: { path?: 'devices' | 'token'; page?: number };
  /** How many matching requests it affects (default 1). */
  times?: number;
  kind: 'status' | 'reset' | 'garbage' | 'delay';
  status?: number;
  headers?: Record<string, string>;
  body?: string;
  delayMs?: number;
}
export interface RateLimit { limit: number; windowMs: number }
export interface SimulatorOptions {
  devices?: number;
  /**
   * Generate each page's devices from (seed, index) instead of keeping the list in memory, so a
   * million-device account starts at once. The list is then fixed: addDevices, removeDevices,
   * changeDevices and setDevices throw. Devices differ from the default fleet's for the same seed.
   */
  staticFleet?: boolean;
  seed?: number;
  mobileShare?: number;
  rateLimit?: RateLimit | null;
  countTokenRequests?: boolean;
  rateLimitHeaders?: 'retry-after' | 'reset-time' | 'both' | 'none';
  auth?: { token?: string; clientId?: string; clientSecret?: string; tokenTtlSeconds?: number };
  latencyMs?: number;
  jitterMs?: number;
  /**
   * The first request on each new connection is counted (and served) this much later than it was
   * sent: a TLS handshake, or a server busy accepting a burst of connections. The client cannot
   * see when the server counted it.
   */
  newConnectionDelayMs?: number;
  endOfList?: '413' | 'empty';
  maxLimit?: number;
}
/** `status` 0: no response was written (a `reset` fault, or still in flight). */
export interface RequestLogEntry {
  at: number;
  path: 'devices' | 'token' | 'other';
  page?: number;
  limit?: number;
  status: number;
}
export interface Simulator {
  readonly url: string;
  start(port?: number): Promise<string>;
  close(): Promise<void>;
  readonly log: RequestLogEntry[];
  stats(): { requests: number; tokenRequests: number; rateLimited: number; byStatus: Record<number, number> };
  maxInWindow(windowMs?: number): number;
  /** Oldest enrolment first (what `order=asc` serves); `'des'` gives the API's default order. */
  list(order?: ListOrder): RawDevice[];
  addDevices(n: number): string[];
  removeDevices(n: number): string[];
  changeDevices(n: number): string[];
  /** Replaces the list; `devices[0]` counts as the oldest enrolment. */
  setDevices(devices: RawDevice[]): void;
  injectFault(fault: Fault): void;
  onPage(hook: ((page: number) => void) | null): void;
  revokeTokens(): void;
  setRateLimit(limit: RateLimit | null): void;
}
