/** The simulator's public types: its options, its request log and its control surface. */
import type { ListOrder, RawDevice } from './devices.ts';
import type { DayChanges } from './drift.ts';

/**
 * One misbehaviour, served instead of (or, for `short`, on top of) the normal reply:
 * - `status`: that status, with `body`/`headers` or a `{result, msg}` body; `garbage`: 200 with `body` (HTML by default)
 * - `reset`: the connection is reset before any response; `delay`: served normally `delayMs` later
 * - `short`: a devices page with its last `drop` devices left out (a truncated page)
 * - `empty`: 200 with `[]`
 * - `gzip-bomb`: 200, `content-encoding: gzip`, a small body that inflates to `bytes` bytes
 * - `oversized`: 200 with a `bytes`-byte body, streamed in chunks
 * The two large bodies are valid JSON (`[`, spaces, `]`: an empty list) so only a size limit stops them.
 */
export interface Fault {
  /** Which requests it applies to. Omitted fields match anything. */
  match?: { path?: 'devices' | 'token' | 'details' | 'account'; page?: number; hwid?: string };
  /** How many matching requests it affects (default 1). */
  times?: number;
  kind: 'status' | 'reset' | 'garbage' | 'delay' | 'short' | 'empty' | 'gzip-bomb' | 'oversized';
  status?: number;
  headers?: Record<string, string>;
  body?: string;
  delayMs?: number;
  /** `short`: devices left off the end of the page (default 1). */
  drop?: number;
  /** `gzip-bomb`: size after inflating; `oversized`: size of the body. At least 2. */
  bytes?: number;
}
export interface RateLimit {
  limit: number;
  windowMs: number;
}
export interface SimulatorOptions {
  devices?: number;
  /**
   * Generate each page's devices from (seed, index) instead of keeping the list in memory, so a
   * million-device account starts at once. The list is then fixed: addDevices, removeDevices,
   * changeDevices, hideDevices and setDevices throw. Devices differ from the default fleet's for the
   * same seed. Device Details works: the hwid encodes the device's index.
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
  /**
   * Account v2's `devices_used`: by default the listed devices' count. A number here answers
   * that instead (the account's count can differ from the list: archived devices, a stale figure).
   */
  accountDevicesUsed?: number;
  maxLimit?: number;
}
/** `status` 0: no response was written (a `reset` fault, or still in flight). */
export interface RequestLogEntry {
  at: number;
  path: 'devices' | 'details' | 'token' | 'account' | 'other';
  page?: number;
  limit?: number;
  /** `details`: the hwid asked about, decoded. */
  hwid?: string;
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
  /**
   * Archives n devices: they leave the list, but Device Details still answers 200 for them (as
   * the real API may for archived devices). Returns their hwids. Removed devices answer 404.
   */
  hideDevices(n: number): string[];
  changeDevices(n: number): string[];
  /** Replaces the list, and forgets hidden devices; `devices[0]` counts as the oldest enrolment. */
  setDevices(devices: RawDevice[]): void;
  /** Devices in the list (without copying it, as list() does). */
  readonly size: number;
  /** The simulated day the account is at (drift.ts): 0 until goToDay moves it. */
  readonly day: number;
  /**
   * Lives the account's nights up to `day` (not before the current one), what each night did in
   * order; then active agents report in the hours before `anchorMs` (default: a fixed reference
   * time plus `day` days), which moves only last_seen. The rate window's clock moves on by the days
   * too: requests of different days never share a window, as on nights 24 hours apart.
   */
  goToDay(day: number, anchorMs?: number): DayChanges[];
  injectFault(fault: Fault): void;
  /**
   * Called after a devices page is cut, before its reply is sent: change the list here
   * (removeDevices, addDevices, setDevices) to make it shift while a client reads it.
   */
  onPage(hook: ((page: number) => void) | null): void;
  revokeTokens(): void;
  setRateLimit(limit: RateLimit | null): void;
}
