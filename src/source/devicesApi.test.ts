import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../lib/clock.ts';
import { ApiError } from '../lib/errors.ts';
import { createSilentLogger } from '../lib/logger.ts';
import { createSimulator, type Simulator, type SimulatorOptions } from '../simulator/simulator.ts';
import { createSource, type SourceConfig } from './createSource.ts';

const TOKEN = 'details-token-4c1e9a';
const CLIENT = { clientId: 'details-client', clientSecret: 'details-secret-77b2' };

let sim: Simulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

async function setUp(options: SimulatorOptions = {}, api: Partial<SourceConfig> = {}) {
  sim = createSimulator({ devices: 20, seed: 3, auth: { token: TOKEN }, ...options });
  await sim.start();
  const source = createSource(
    {
      url: sim.url,
      credentials: { kind: 'token', accessToken: TOKEN },
      rateLimit: 1000,
      rateWindowMs: 1000,
      pageSize: 50,
      timeoutMs: 5000,
      maxRetries: 2,
      ...api,
    },
    { clock: systemClock, logger: createSilentLogger(), backoff: { baseMs: 1, capMs: 5 } },
  );
  return { sim, api: source.api, stats: source.stats };
}

async function failure(promise: Promise<unknown>): Promise<ApiError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ApiError);
  return error as ApiError;
}

describe('device details', () => {
  it('says present for a listed or archived device and gone for a removed or unknown one', async () => {
    const { sim, api } = await setUp();
    const [listed] = sim.list().map((d) => String(d.hwid));
    const archived = sim.hideDevices(1)[0]!;
    const removed = sim.removeDevices(1)[0]!;
    expect(await api.fetchDeviceDetails(listed!)).toBe('present');
    expect(await api.fetchDeviceDetails(archived)).toBe('present');
    expect(await api.fetchDeviceDetails(removed)).toBe('gone');
    expect(await api.fetchDeviceDetails('never/enrolled ?#')).toBe('gone');
    expect(sim.log.map((e) => [e.path, e.hwid, e.status])).toEqual([
      ['details', listed, 200],
      ['details', archived, 200],
      ['details', removed, 404],
      ['details', 'never/enrolled ?#', 404],
    ]);
  });

  it('refuses a hwid that URL parsing would resolve to another path, without a request', async () => {
    const { sim, api } = await setUp();
    for (const hwid of ['', '.', '..']) expect(await failure(api.fetchDeviceDetails(hwid))).toMatchObject({ code: 'API_BAD_HWID' });
    expect(await api.fetchDeviceDetails('.%2e')).toBe('gone');
    expect(sim.log.map((e) => [e.path, e.hwid])).toEqual([['details', '.%2e']]);
  });

  it('takes only the API\'s own 404 for "gone": a proxy\'s HTML 404 fails the lookup instead of removing the device', async () => {
    const { sim, api } = await setUp();
    const hwid = String(sim.list()[0]!.hwid);
    sim.injectFault({
      match: { path: 'details' },
      kind: 'status',
      status: 404,
      body: '<html><center><h1>404 Not Found</h1></center><hr>nginx</html>',
    });
    expect(await failure(api.fetchDeviceDetails(hwid))).toMatchObject({ code: 'API_UNEXPECTED_404' });
    expect(await api.fetchDeviceDetails(hwid)).toBe('present');
  });

  it('refuses a 200 that is not a JSON object', async () => {
    const { sim, api } = await setUp();
    const hwid = String(sim.list()[0]!.hwid);
    sim.injectFault({ match: { path: 'details' }, kind: 'garbage', body: `<html>login ${TOKEN}</html>` });
    const html = await failure(api.fetchDeviceDetails(hwid));
    expect(html.code).toBe('API_BAD_BODY');
    expect(html.message).toMatch(/not JSON/);
    expect(html.message).not.toContain(TOKEN);
    sim.injectFault({ match: { path: 'details' }, kind: 'empty' });
    expect(await failure(api.fetchDeviceDetails(hwid))).toMatchObject({
      code: 'API_BAD_BODY',
      message: expect.stringMatching(/not a JSON object \(got an array\)/),
    });
    sim.injectFault({ match: { path: 'details' }, kind: 'garbage', body: 'null' });
    expect((await failure(api.fetchDeviceDetails(hwid))).message).toMatch(/got null/);
  });

  it('retries a server error like a page, then fails with the status code taxonomy, never showing the URL', async () => {
    const { sim, api } = await setUp();
    const hwid = String(sim.list()[0]!.hwid);
    sim.injectFault({ match: { path: 'details' }, kind: 'status', status: 503 });
    expect(await api.fetchDeviceDetails(hwid)).toBe('present');
    sim.injectFault({ match: { path: 'details' }, kind: 'status', status: 500, times: 3 });
    const error = await failure(api.fetchDeviceDetails(hwid));
    expect(error).toMatchObject({ code: 'API_SERVER_ERROR', status: 500 });
    expect(error.message).toContain(`device details for ${hwid}`);
    expect(`${error.message} ${error.stack}`).not.toMatch(/access_token|details-token|\/o\/api/);
    sim.injectFault({ match: { path: 'details' }, kind: 'status', status: 403 });
    expect(await failure(api.fetchDeviceDetails(hwid))).toMatchObject({ code: 'API_HTTP_ERROR', status: 403 });
    expect(sim.log.filter((e) => e.path === 'details')).toHaveLength(2 + 3 + 1);
  });

  it('with a static token, a 401 fails at once as API_UNAUTHORIZED', async () => {
    const { sim, api } = await setUp({ auth: { token: 'another-token' } });
    const error = await failure(api.fetchDeviceDetails(String(sim.list()[0]!.hwid)));
    expect(error).toMatchObject({ code: 'API_UNAUTHORIZED', status: 401 });
    expect(sim.log).toHaveLength(1);
  });

  it('with OAuth, renews a revoked token once, and gives up on a second 401', async () => {
    const { sim, api, stats } = await setUp({ auth: CLIENT }, { credentials: { kind: 'oauth', ...CLIENT } });
    const hwid = String(sim.list()[0]!.hwid);
    expect(await api.fetchDeviceDetails(hwid)).toBe('present');
    sim.revokeTokens();
    expect(await api.fetchDeviceDetails(hwid)).toBe('present');
    expect(stats.tokenRequests).toBe(2);
    sim.injectFault({ match: { path: 'details' }, kind: 'status', status: 401, times: 2 });
    expect(await failure(api.fetchDeviceDetails(hwid))).toMatchObject({ code: 'API_UNAUTHORIZED' });
    expect(stats.tokenRequests).toBe(3);
    expect(sim.log.map((e) => e.path)).toEqual(['token', 'details', 'details', 'token', 'details', 'details', 'token', 'details']);
  });
});

describe('response size limit', () => {
  it('fails a gzip bomb as API_RESPONSE_TOO_LARGE, once, naming the limit and its variable', async () => {
    const { sim, api, stats } = await setUp({}, { maxResponseBytes: 1024 * 1024 });
    sim.injectFault({ match: { path: 'devices' }, kind: 'gzip-bomb', bytes: 200 * 1024 * 1024, times: 5 });
    const error = await failure(api.fetchDevicePage(1));
    expect(error.code).toBe('API_RESPONSE_TOO_LARGE');
    expect(error.message).toMatch(/larger than 1048576 bytes/);
    expect(error.message).toContain('METAACCESS_MAX_RESPONSE_BYTES');
    expect(error.attempts).toBe(1);
    expect(stats.retries).toBe(0);
    expect(sim.log).toHaveLength(1);
  });

  it('applies to details too, and defaults to 16 MiB when the config leaves it out', async () => {
    const { sim, api } = await setUp();
    const hwid = String(sim.list()[0]!.hwid);
    sim.injectFault({ match: { path: 'details' }, kind: 'oversized', bytes: 16 * 1024 * 1024 });
    sim.injectFault({ match: { path: 'details' }, kind: 'oversized', bytes: 16 * 1024 * 1024 + 1 });
    expect(await failure(api.fetchDeviceDetails(hwid))).toMatchObject({ code: 'API_BAD_BODY' });
    expect(await failure(api.fetchDeviceDetails(hwid))).toMatchObject({ code: 'API_RESPONSE_TOO_LARGE' });
  });
});

describe('account (Account v2)', () => {
  it('reads devices_used, with one request through the limiter', async () => {
    const { sim, api, stats } = await setUp();
    sim.removeDevices(2);
    expect(await api.fetchAccount()).toEqual({ devicesUsed: 18 });
    expect(sim.log.map((e) => [e.path, e.status])).toEqual([['account', 200]]);
    expect(stats.requests).toBe(1);
  });

  it('never fails on an odd answer: a body that is not an account, or a 4xx other than 401, gives no figure', async () => {
    const { sim, api } = await setUp();
    for (const body of ['<html>maintenance</html>', '[]', 'null', '{"devices_used":"lots"}', '{"devices_used":-1}', '{}']) {
      sim.injectFault({ match: { path: 'account' }, kind: 'garbage', body });
      expect(await api.fetchAccount()).toEqual({ devicesUsed: undefined });
    }
    sim.injectFault({ match: { path: 'account' }, kind: 'garbage', body: '{"devices_used":"1234"}' });
    expect(await api.fetchAccount()).toEqual({ devicesUsed: 1234 });
    sim.injectFault({ match: { path: 'account' }, kind: 'status', status: 404 });
    expect(await api.fetchAccount()).toEqual({ devicesUsed: undefined });
  });

  it('fails like any request on bad credentials or an outage that outlasts the retries', async () => {
    const { sim, api, stats } = await setUp({ auth: CLIENT }, { credentials: { kind: 'oauth', ...CLIENT } });
    sim.revokeTokens();
    expect(await api.fetchAccount()).toEqual({ devicesUsed: 20 });
    sim.injectFault({ match: { path: 'account' }, kind: 'status', status: 401, times: 2 });
    expect(await failure(api.fetchAccount())).toMatchObject({ code: 'API_UNAUTHORIZED', status: 401 });
    expect(stats.tokenRequests).toBe(2);
    sim.injectFault({ match: { path: 'account' }, kind: 'status', status: 503, times: 3 });
    const outage = await failure(api.fetchAccount());
    expect(outage).toMatchObject({ code: 'API_SERVER_ERROR', status: 503 });
    expect(outage.message).toContain(sim.url);
  });
});

describe('server text quoted in an error', () => {
  const HOSTILE = '{"msg":"\x1b[2J\x1b]0;pwned\x07 done\r\u009b31m"}';
  const RAW_CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

  /** What the CLI prints is the message: it shows the escapes, never the characters themselves. */
  function expectEscaped(error: ApiError): void {
    expect(error.message).not.toMatch(RAW_CONTROL);
    expect(error.message).toContain('\\x1b[2J\\x1b]0;pwned\\x07 done');
    expect(error.body).not.toMatch(RAW_CONTROL);
  }

  it('escapes control characters of an error body on every kind of failure, keeping it bounded', async () => {
    const { sim, api } = await setUp({ auth: CLIENT }, { credentials: { kind: 'oauth', ...CLIENT } });
    sim.injectFault({ match: { path: 'devices' }, kind: 'status', status: 400, body: HOSTILE });
    expectEscaped(await failure(api.fetchDevicePage(1)));
    sim.injectFault({ match: { path: 'devices' }, kind: 'status', status: 503, body: HOSTILE, times: 3 });
    expectEscaped(await failure(api.fetchDevicePage(1)));
    sim.injectFault({ match: { path: 'devices' }, kind: 'garbage', body: `<html>${HOSTILE}</html>` });
    expectEscaped(await failure(api.fetchDevicePage(1)));
    sim.injectFault({ match: { path: 'devices' }, kind: 'status', status: 400, body: `${HOSTILE}${'\x1b'.repeat(100_000)}` });
    const flood = await failure(api.fetchDevicePage(1));
    expectEscaped(flood);
    expect(flood.body!.length).toBeLessThan(250);
    sim.revokeTokens();
    sim.injectFault({ match: { path: 'token' }, kind: 'status', status: 401, body: HOSTILE });
    expectEscaped(await failure(api.fetchDevicePage(1)));
  });

  it('escapes a hwid quoted from a device record', async () => {
    const { sim, api } = await setUp();
    sim.injectFault({ match: { path: 'details' }, kind: 'status', status: 500, times: 3 });
    const error = await failure(api.fetchDeviceDetails('host\x1b[31m\rspoofed'));
    expect(error.message).toContain('device details for host\\x1b[31m\\rspoofed');
    expect(error.message).not.toMatch(RAW_CONTROL);
  });
});
