/**
 * A fake MetaAccess Get Devices v2.3, Device Details v2.1 and Account v2 API on loopback, strict where the
 * real one might be lenient: a sliding-window rate limit counted at arrival, 406/413 edges,
 * expiring OAuth tokens, faults.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { createAuth } from './auth.ts';
import { respond, wait, type State } from './exchange.ts';
import { applyFault, checkFault, replacesReply, shortenPage, takeFault } from './faults.ts';
import { DAY_MS, driftDay, reportIn, startDrift, type DayChanges, type DriftState } from './drift.ts';
import { createFleet, type Fleet } from './fleet.ts';
import { createRng, deriveSeed } from './rng.ts';
import { createRateWindow } from './rateWindow.ts';
import { apiError, json, PAST_END, RATE_LIMITED, type Reply } from './replies.ts';
import type { RequestLogEntry, Simulator, SimulatorOptions } from './simulatorTypes.ts';
import { createStaticFleet } from './staticFleet.ts';

export type { RawDevice } from './devices.ts';
export type { Fault, RateLimit, RequestLogEntry, Simulator, SimulatorOptions } from './simulatorTypes.ts';

export const DEVICES_PATH = '/o/api/v2.3/devices';
/** Device Details v2.1: the device's hwid follows as one path segment. */
export const DETAILS_PATH = '/o/api/v2.1/devices/';
export const TOKEN_PATH = '/o/oauth/token';
export const ACCOUNT_PATH = '/o/api/v2/account';
const UNAUTHORIZED = json(401, { error: 'invalid_token' });

/** undefined: present but not an integer (the API answers that with 406 or 413). */
function intParam(url: URL, name: string): number | undefined {
  const raw = url.searchParams.get(name);
  if (raw === null) return 1;
  return /^-?\d+$/.test(raw) ? Number(raw) : undefined;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function rateHeaders(state: State, limit: number, remaining: number, retryMs?: number): Record<string, string> {
  const mode = state.options.rateLimitHeaders ?? 'both';
  if (mode === 'none') return {};
  const headers: Record<string, string> = {
    'x-ratelimit-limit': String(limit),
    'x-ratelimit-remaining': String(remaining),
  };
  if (retryMs === undefined) return headers;
  if (mode !== 'reset-time') headers['retry-after'] = String(Math.max(1, Math.ceil(retryMs / 1000)));
  if (mode !== 'retry-after') headers['x-ratelimit-reset-time'] = (retryMs / 1000).toFixed(3);
  return headers;
}

function serveDevices(state: State, url: URL, entry: RequestLogEntry, headers: Record<string, string>): Reply {
  if (!state.auth.accepts(url.searchParams.get('access_token'), performance.now())) return UNAUTHORIZED;
  const { limit, page } = entry;
  if (limit === undefined || limit < 1 || limit > (state.options.maxLimit ?? 50)) {
    return apiError(406, 'Too many devices to return');
  }
  if (page === undefined || page < 1) return PAST_END;
  const offset = (page - 1) * limit;
  if (page > 1 && offset >= state.fleet.size && state.options.endOfList !== 'empty') return PAST_END;
  const body = state.fleet.page(url.searchParams.get('order') === 'asc' ? 'asc' : 'des', offset, limit);
  state.pageHook?.(page);
  return { status: 200, body, headers };
}

/** The device as the details page shows it: `critical_status` is called `critical_issue` there. */
function serveDetails(state: State, url: URL, entry: RequestLogEntry, headers: Record<string, string>): Reply {
  if (!state.auth.accepts(url.searchParams.get('access_token'), performance.now())) return UNAUTHORIZED;
  // opt=1 would look the value up as a MAC address, which the simulator does not do.
  const opt = url.searchParams.get('opt') ?? '0';
  const device = opt === '0' && entry.hwid !== undefined ? state.fleet.lookup(entry.hwid) : undefined;
  if (!device) return apiError(404, 'Not found');
  const renamed = Object.entries(device).map(([key, value]) => [key === 'critical_status' ? 'critical_issue' : key, value]);
  return json(200, Object.fromEntries(renamed), headers);
}

/** Account v2: the account's figures; `devices_used` counts the listed devices unless an option says otherwise. */
function serveAccount(state: State, url: URL, headers: Record<string, string>): Reply {
  if (!state.auth.accepts(url.searchParams.get('access_token'), performance.now())) return UNAUTHORIZED;
  const counts = state.fleet.counts();
  return json(
    200,
    {
      name: 'Simulated account',
      email: 'admin@simulator.invalid',
      // A licence with room to spare, rounded as sold.
      devices_allowed: Math.max(100, Math.ceil((counts.devices * 1.2) / 100) * 100),
      devices_used: state.options.accountDevicesUsed ?? counts.devices,
      devices_uncompliant: counts.uncompliant,
      devices_critical: counts.critical,
    },
    headers,
  );
}

async function serveToken(state: State, req: IncomingMessage): Promise<Reply> {
  const body = await readBody(req);
  if (!/^application\/x-www-form-urlencoded/i.test(req.headers['content-type'] ?? '')) {
    return json(400, { error: 'invalid_request', error_description: 'expected a form-encoded body' });
  }
  return state.auth.issue(new URLSearchParams(body), performance.now());
}

function pathOf(pathname: string): RequestLogEntry['path'] {
  if (pathname === DEVICES_PATH) return 'devices';
  if (pathname === TOKEN_PATH) return 'token';
  if (pathname === ACCOUNT_PATH) return 'account';
  const rest = pathname.startsWith(DETAILS_PATH) ? pathname.slice(DETAILS_PATH.length) : '';
  return rest !== '' && !rest.includes('/') ? 'details' : 'other';
}

function decodedSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function logArrival(state: State, url: URL): RequestLogEntry {
  const path = pathOf(url.pathname);
  const entry: RequestLogEntry = { at: performance.now(), path, status: 0 };
  if (path === 'details') entry.hwid = decodedSegment(url.pathname.slice(DETAILS_PATH.length));
  const limit = path === 'devices' ? intParam(url, 'limit') : undefined;
  const page = path === 'devices' ? intParam(url, 'page') : undefined;
  if (limit !== undefined) entry.limit = limit;
  if (page !== undefined) entry.page = page;
  state.log.push(entry);
  return entry;
}

async function handle(state: State, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://simulator.invalid');
  const entry = logArrival(state, url);
  const counted =
    entry.path === 'devices'
    || entry.path === 'details'
    || entry.path === 'account'
    || (entry.path === 'token' && state.options.countTokenRequests !== false);
  const rate = counted ? state.rate.arrive(entry.at + state.rateClockOffsetMs) : null;
  if (rate?.retryMs !== undefined) {
    const headers = rateHeaders(state, rate.limit, 0, rate.retryMs);
    return respond(state, res, entry, { ...RATE_LIMITED, headers });
  }
  const fault = takeFault(state, entry);
  if (fault && replacesReply(fault)) return applyFault(state, res, entry, fault);
  if (fault?.kind === 'delay') await wait(state, fault.delayMs ?? 0);
  if (entry.path === 'other') return respond(state, res, entry, apiError(404, 'Not found'));
  if (req.method !== (entry.path === 'token' ? 'POST' : 'GET')) {
    return respond(state, res, entry, apiError(405, 'Method not allowed'));
  }
  const headers = rate ? rateHeaders(state, rate.limit, rate.remaining) : {};
  let reply: Reply;
  if (entry.path === 'token') reply = await serveToken(state, req);
  else if (entry.path === 'details') reply = serveDetails(state, url, entry, headers);
  else if (entry.path === 'account') reply = serveAccount(state, url, headers);
  else reply = serveDevices(state, url, entry, headers);
  if (fault?.kind === 'short' && entry.path === 'devices') reply = shortenPage(reply, fault.drop ?? 1);
  return respond(state, res, entry, reply);
}

export function createSimulator(options: SimulatorOptions = {}): Simulator {
  const seed = options.seed ?? 1;
  const state: State = {
    options,
    fleet: (options.staticFleet ? createStaticFleet : createFleet)({
      seed,
      devices: options.devices ?? 1000,
      mobileShare: options.mobileShare ?? 0.15,
    }),
    rate: createRateWindow(options.rateLimit ?? null),
    auth: createAuth(options.auth, createRng(deriveSeed(seed, 'tokens'))),
    jitter: createRng(deriveSeed(seed, 'latency')),
    log: [],
    byStatus: {},
    faults: [],
    timers: new Set(),
    closed: false,
    pageHook: null,
    rateClockOffsetMs: 0,
  };
  const servedSockets = new WeakSet<Socket>();
  const server = createServer((req, res) => {
    const fresh = !servedSockets.has(req.socket);
    servedSockets.add(req.socket);
    const delay = fresh ? (options.newConnectionDelayMs ?? 0) : 0;
    (delay > 0 ? wait(state, delay).then(() => handle(state, req, res)) : handle(state, req, res)).catch((error: unknown) => {
      if (res.headersSent || res.destroyed) return void res.destroy();
      res.writeHead(500, { 'content-type': 'text/plain' }).end(`simulator error: ${String(error)}`);
    });
  });
  const sockets = new Set<Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  let origin: string | null = null;
  let drift: DriftState | undefined;
  return {
    get url() {
      if (!origin) throw new Error('simulator not started: call start() first');
      return origin;
    },
    log: state.log,
    async start(port = 0) {
      origin = await listen(server, port);
      return origin;
    },
    close: () => shutDown(state, server, sockets),
    stats: () => ({
      requests: state.log.length,
      tokenRequests: state.log.filter((entry) => entry.path === 'token').length,
      rateLimited: state.byStatus[429] ?? 0,
      byStatus: { ...state.byStatus },
    }),
    maxInWindow(windowMs = state.rate.rule?.windowMs) {
      if (windowMs === undefined) throw new Error('maxInWindow: no rate limit configured, pass windowMs');
      return state.rate.maxIn(windowMs);
    },
    list: (order = 'asc') => state.fleet.list(order),
    addDevices: (n) => state.fleet.add(n),
    removeDevices: (n) => state.fleet.remove(n),
    hideDevices: (n) => state.fleet.hide(n),
    changeDevices: (n) => state.fleet.change(n),
    setDevices: (devices) => state.fleet.replace(devices),
    get size() {
      return state.fleet.size;
    },
    get day() {
      return drift?.day ?? 0;
    },
    goToDay(day, anchorMs) {
      const day0AnchorMs = anchorMs === undefined ? undefined : anchorMs - day * DAY_MS;
      if (!drift) state.fleet.evolve((devices) => ((drift = startDrift(seed, devices, day0AnchorMs)), devices));
      if (!drift) throw new Error('goToDay: the fleet did not start the drift');
      if (!Number.isInteger(day) || day < drift.day) throw new Error(`goToDay: day ${day} is before the account's day ${drift.day}`);
      const nights = liveUntil(state.fleet, drift, day, anchorMs);
      state.rateClockOffsetMs = day * DAY_MS;
      return nights;
    },
    injectFault: (fault) => {
      checkFault(fault);
      state.faults.push({ ...fault });
    },
    onPage: (hook) => void (state.pageHook = hook),
    revokeTokens: () => state.auth.revoke(),
    setRateLimit: (limit) => void (state.rate.rule = limit),
  };
}

function liveUntil(fleet: Fleet, drift: DriftState, day: number, anchorMs: number | undefined): DayChanges[] {
  const nights: DayChanges[] = [];
  while (drift.day < day) {
    fleet.evolve((devices, enrol) => {
      const night = driftDay(drift, devices, enrol);
      nights.push(night.changes);
      return night.devices;
    });
  }
  fleet.evolve((devices) => {
    reportIn(drift.seed, day, devices, anchorMs);
    return devices;
  });
  return nights;
}

/** Open sockets are destroyed rather than drained: tests close mid-request (delay faults). */
function shutDown(state: State, server: Server, sockets: Set<Socket>): Promise<void> {
  state.closed = true;
  for (const timer of state.timers) clearTimeout(timer);
  state.timers.clear();
  for (const socket of sockets) socket.destroy();
  if (!server.listening) return Promise.resolve();
  return new Promise((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
}

function listen(server: Server, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      const address = server.address();
      if (typeof address === 'object' && address) resolve(`http://127.0.0.1:${address.port}`);
      else reject(new Error('simulator: no TCP address after listen'));
    });
  });
}
