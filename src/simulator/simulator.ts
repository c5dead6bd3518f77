/**
 * A fake MetaAccess Get Devices v2.3 API on loopback, strict where the real one might be lenient:
 * a sliding-window rate limit counted at arrival, 406/413 edges, expiring OAuth tokens, faults.
 */
import { createServer, STATUS_CODES } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { createAuth } from './auth.ts';
import { createFleet, type Fleet } from './fleet.ts';
import { createRng, deriveSeed, type Rng } from './rng.ts';
import { createRateWindow } from './rateWindow.ts';
import { apiError, json, PAST_END, RATE_LIMITED, type Reply } from './replies.ts';
import type { Fault, RequestLogEntry, Simulator, SimulatorOptions } from './simulatorTypes.ts';
import { createStaticFleet } from './staticFleet.ts';

export type { RawDevice } from './devices.ts';
export type { Fault, RateLimit, RequestLogEntry, Simulator, SimulatorOptions } from './simulatorTypes.ts';

export const DEVICES_PATH = '/o/api/v2.3/devices';
export const TOKEN_PATH = '/o/oauth/token';

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

function faultMatches({ match }: Fault, entry: RequestLogEntry): boolean {
  const pathOk = match?.path === undefined || match.path === entry.path;
  return pathOk && (match?.page === undefined || match.page === entry.page);
}

/** Everything one simulator owns; handlers get it passed in, so simulators never share state. */
interface State {
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
}

/** Timers are tracked so close() can clear them; once closed, waits never end. */
function wait(state: State, ms: number): Promise<void> {
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

function latency(state: State): number {
  const { latencyMs = 0, jitterMs = 0 } = state.options;
  return Math.max(0, latencyMs + (state.jitter() * 2 - 1) * jitterMs);
}

function record(state: State, entry: RequestLogEntry, status: number): void {
  entry.status = status;
  state.byStatus[status] = (state.byStatus[status] ?? 0) + 1;
}

async function respond(state: State, res: ServerResponse, entry: RequestLogEntry, reply: Reply): Promise<void> {
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

function takeFault(state: State, entry: RequestLogEntry): Fault | undefined {
  const index = state.faults.findIndex((fault) => faultMatches(fault, entry));
  const fault = state.faults[index];
  if (!fault) return undefined;
  const left = (fault.times ?? 1) - 1;
  if (left <= 0) state.faults.splice(index, 1);
  else state.faults[index] = { ...fault, times: left };
  return fault;
}

async function applyFault(state: State, res: ServerResponse, entry: RequestLogEntry, fault: Fault): Promise<void> {
  if (fault.kind === 'status' || fault.kind === 'garbage') {
    const status = fault.kind === 'status' ? fault.status ?? 500 : 200;
    const fallback = fault.kind === 'status'
      ? JSON.stringify({ result: status, msg: STATUS_CODES[status] ?? 'Error' })
      : '<html><body>Bad Gateway</body></html>';
    return respond(state, res, entry, { status, body: fault.body ?? fallback, headers: fault.headers });
  }
  await wait(state, latency(state));
  record(state, entry, 0);
  // An RST rather than a FIN, so the client sees ECONNRESET as with a dropped connection.
  res.socket?.resetAndDestroy();
}

function serveDevices(state: State, url: URL, entry: RequestLogEntry, headers: Record<string, string>): Reply {
  if (!state.auth.accepts(url.searchParams.get('access_token'), performance.now())) {
    return json(401, { error: 'invalid_token' });
  }
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

async function serveToken(state: State, req: IncomingMessage): Promise<Reply> {
  const body = await readBody(req);
  if (!/^application\/x-www-form-urlencoded/i.test(req.headers['content-type'] ?? '')) {
    return json(400, { error: 'invalid_request', error_description: 'expected a form-encoded body' });
  }
  return state.auth.issue(new URLSearchParams(body), performance.now());
}

function logArrival(state: State, url: URL): RequestLogEntry {
  const path = url.pathname === DEVICES_PATH ? 'devices' : url.pathname === TOKEN_PATH ? 'token' : 'other';
  const entry: RequestLogEntry = { at: performance.now(), path, status: 0 };
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
  const counted = entry.path === 'devices' || (entry.path === 'token' && state.options.countTokenRequests !== false);
  const rate = counted ? state.rate.arrive(entry.at) : null;
  if (rate?.retryMs !== undefined) {
    const headers = rateHeaders(state, rate.limit, 0, rate.retryMs);
    return respond(state, res, entry, { ...RATE_LIMITED, headers });
  }
  const fault = takeFault(state, entry);
  if (fault && fault.kind !== 'delay') return applyFault(state, res, entry, fault);
  if (fault) await wait(state, fault.delayMs ?? 0);
  if (entry.path === 'other') return respond(state, res, entry, apiError(404, 'Not found'));
  if (req.method !== (entry.path === 'devices' ? 'GET' : 'POST')) {
    return respond(state, res, entry, apiError(405, 'Method not allowed'));
  }
  const reply = entry.path === 'token'
    ? await serveToken(state, req)
    : serveDevices(state, url, entry, rate ? rateHeaders(state, rate.limit, rate.remaining) : {});
  return respond(state, res, entry, reply);
}

export function createSimulator(options: SimulatorOptions = {}): Simulator {
  const seed = options.seed ?? 1;
  const state: State = {
    options,
    fleet: (options.staticFleet ? createStaticFleet : createFleet)({ seed, devices: options.devices ?? 1000, mobileShare: options.mobileShare ?? 0.15 }),
    rate: createRateWindow(options.rateLimit ?? null),
    auth: createAuth(options.auth, createRng(deriveSeed(seed, 'tokens'))),
    jitter: createRng(deriveSeed(seed, 'latency')),
    log: [], byStatus: {}, faults: [], timers: new Set(), closed: false, pageHook: null,
  };
  const servedSockets = new WeakSet<Socket>();
  const server = createServer((req, res) => {
    const fresh = !servedSockets.has(req.socket);
    servedSockets.add(req.socket);
    const delay = fresh ? options.newConnectionDelayMs ?? 0 : 0;
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
    changeDevices: (n) => state.fleet.change(n),
    setDevices: (devices) => state.fleet.replace(devices),
    injectFault: (fault) => void state.faults.push({ ...fault }),
    onPage: (hook) => void (state.pageHook = hook),
    revokeTokens: () => state.auth.revoke(),
    setRateLimit: (limit) => void (state.rate.rule = limit),
  };
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
