import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../lib/clock.ts';
import { ApiError } from '../lib/errors.ts';
import { createSilentLogger } from '../lib/logger.ts';
import { createSimulator, type Simulator, type SimulatorOptions } from '../simulator/simulator.ts';
import { createSource, type SourceConfig } from './createSource.ts';
import { iterateDevicePages } from './pager.ts';

/**
 * What a failure costs, in requests: measured against the simulator (or a closed port) with the
 * prefetch a first run uses (20 pages queued for a limit of 10).
 */
const TOKEN = 'fail-fast-token-9d1c';
const CLIENT = { clientId: 'fail-fast-client', clientSecret: 'fail-fast-secret-3e7a' };
const LIMIT = 10;
const MAX_RETRIES = 5;

let sim: Simulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

async function startSim(options: SimulatorOptions): Promise<Simulator> {
  sim = createSimulator({ devices: 50 * 30, seed: 21, auth: { token: TOKEN }, ...options });
  await sim.start();
  return sim;
}

function makeSource(url: string, api: Partial<SourceConfig> = {}) {
  return createSource(
    {
      url,
      credentials: { kind: 'token', accessToken: TOKEN },
      rateLimit: LIMIT,
      rateWindowMs: 500,
      pageSize: 50,
      timeoutMs: 2000,
      maxRetries: MAX_RETRIES,
      ...api,
    },
    { clock: systemClock, logger: createSilentLogger(), backoff: { baseMs: 5, capMs: 20 } },
  );
}

/** Reads the whole list as a first run does; the error it ends with. */
async function readFails(source: ReturnType<typeof makeSource>): Promise<ApiError> {
  expect(source.prefetch).toBe(2 * LIMIT);
  const error = await (async () => {
    for await (const _ of iterateDevicePages({ api: source.api, pageSize: source.pageSize, prefetch: source.prefetch })) {
      // Pages are stored here in a real run.
    }
  })().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ApiError);
  return error as ApiError;
}

/** A port nobody listens on: connections to it are refused. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('bad credentials cost one request', () => {
  it('a wrong static token: exactly 1 request, then the run fails as API_UNAUTHORIZED', async () => {
    // With some latency, as against the real API: requests sent before the 401 comes back count.
    const sim = await startSim({ auth: { token: 'the-right-token' }, latencyMs: 30 });
    const error = await readFails(makeSource(sim.url));
    expect(error).toMatchObject({ code: 'API_UNAUTHORIZED', status: 401 });
    expect(sim.log.map((e) => [e.path, e.page, e.status])).toEqual([['devices', 1, 401]]);
  });

  it('a wrong OAuth client secret: the token request fails once, and nothing else is sent', async () => {
    const sim = await startSim({ auth: { clientId: CLIENT.clientId, clientSecret: 'the-right-secret' }, latencyMs: 30 });
    const error = await readFails(makeSource(sim.url, { credentials: { kind: 'oauth', ...CLIENT } }));
    expect(error).toMatchObject({ code: 'API_AUTH_FAILED', status: 401 });
    expect(sim.log.map((e) => [e.path, e.status])).toEqual([['token', 401]]);
    expect(error.message).not.toContain(CLIENT.clientSecret);
  });
});

describe('an outage fails the run within about one window of requests', () => {
  it('an unreachable host (connection refused): at most limit + retries requests, the host and code named', async () => {
    const port = await closedPort();
    const source = makeSource(`http://127.0.0.1:${port}`);
    const error = await readFails(source);
    expect(error.code).toBe('API_NETWORK');
    expect(error.message).toContain(`http://127.0.0.1:${port}`);
    expect(error.message).toContain('ECONNREFUSED');
    expect(error.message).not.toContain(TOKEN);
    expect(source.stats.requests).toBeLessThanOrEqual(LIMIT + MAX_RETRIES);
    // The first request goes alone; its retries run out, and the queued pages fail with its error.
    expect(source.stats.requests).toBe(1 + MAX_RETRIES);
  });

  it('a permanent 503 from the start: at most limit + retries requests, the host and status named', async () => {
    const sim = await startSim({});
    sim.injectFault({ match: { path: 'devices' }, kind: 'status', status: 503, times: 1000 });
    const error = await readFails(makeSource(sim.url));
    expect(error).toMatchObject({ code: 'API_SERVER_ERROR', status: 503 });
    expect(error.message).toContain(sim.url);
    expect(error.message).not.toMatch(/access_token|fail-fast-token|\/o\/api/);
    expect(sim.log.length).toBe(1 + MAX_RETRIES);
  });

  it('a 503 that starts mid-run: one request retries while the rest wait, then they fail with its error', async () => {
    const sim = await startSim({});
    sim.onPage((page) => {
      if (page === 1) sim.injectFault({ match: { path: 'devices' }, kind: 'status', status: 503, times: 1000 });
    });
    const error = await readFails(makeSource(sim.url));
    expect(error).toMatchObject({ code: 'API_SERVER_ERROR', status: 503 });
    // Page 1, the 9 pages the first window still allowed, and the retries of one of them.
    expect(sim.log.length).toBeLessThanOrEqual(LIMIT + MAX_RETRIES);
    expect(sim.stats().byStatus).toEqual({ 200: 1, 503: LIMIT - 1 + MAX_RETRIES });
  });

  it('requests that wait for a failing one fail with its very error, without trying', async () => {
    const sim = await startSim({});
    const { api } = makeSource(sim.url);
    const hwid = String(sim.list()[0]!.hwid);
    expect(await api.fetchDeviceDetails(hwid)).toBe('present');
    sim.injectFault({ match: { path: 'details' }, kind: 'status', status: 502, times: 1000 });
    const errors = await Promise.all(Array.from({ length: 6 }, () => api.fetchDeviceDetails(hwid).catch((e: unknown) => e)));
    expect(new Set(errors).size).toBe(1);
    expect(errors[0]).toMatchObject({ code: 'API_SERVER_ERROR', status: 502 });
    // The 6 went out together; then only one of them retried.
    expect(sim.log.length).toBe(1 + 6 + MAX_RETRIES);
  });
});

describe('a server pause holds back the whole limiter', () => {
  for (const status of [429, 503]) {
    it(`after a ${status} with Retry-After, no request arrives before the pause ends`, async () => {
      const sim = await startSim({ devices: 50 * 8 });
      sim.injectFault({ match: { path: 'devices', page: 2 }, kind: 'status', status, headers: { 'retry-after': '1' } });
      const source = makeSource(sim.url, { rateLimit: 3, rateWindowMs: 200 });
      const pages: number[] = [];
      for await (const batch of iterateDevicePages({ api: source.api, pageSize: 50, prefetch: 6 })) pages.push(batch.page);
      expect(pages).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
      const paused = sim.log.find((e) => e.status === status)!;
      // Those already on the wire when the answer came may land; nothing sent after it may.
      const during = sim.log.filter((e) => e.at > paused.at + 30 && e.at < paused.at + 950);
      expect(during).toEqual([]);
    });
  }
});
