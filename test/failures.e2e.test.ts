import { describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { harnessPerTest, TEST_CLIENT, TEST_TOKEN, type Harness } from './helpers/harness.ts';

const t = harnessPerTest();
const rows = t.rows;
let h: Harness | undefined;

describe('failure paths', () => {
  it('retries a burst of 5xx answers and a connection reset, and the run succeeds', async () => {
    h = await t.start({ simulator: { devices: 400, seed: 11 } });
    h.sim.injectFault({ match: { path: 'devices', page: 2 }, kind: 'status', status: 503, times: 3 });
    h.sim.injectFault({ match: { path: 'devices', page: 3 }, kind: 'status', status: 500, times: 1 });
    h.sim.injectFault({ match: { path: 'devices', page: 5 }, kind: 'reset', times: 1 });
    const run = await h.sync();
    expect(run.status).toBe('succeeded');
    expect(run.counters.devicesSeen).toBe(400);
    expect(run.counters.retries).toBe(5);
    const [row] = await rows<{ retries: number; status: string }>(
      sql`select retries, status from metaaccess.sync_runs where id = ${run.runId}`,
    );
    expect(row).toEqual({ retries: 5, status: 'succeeded' });
  });

  it('honours a 429 with Retry-After / X-RateLimit-Reset-Time and records it', async () => {
    h = await t.start({ simulator: { devices: 150, seed: 12 } });
    h.sim.injectFault({
      match: { path: 'devices', page: 2 },
      kind: 'status',
      status: 429,
      headers: { 'retry-after': '1', 'x-ratelimit-reset-time': '0.2' },
    });
    const started = performance.now();
    const run = await h.sync();
    expect(run.status).toBe('succeeded');
    expect(run.counters.rateLimited).toBe(1);
    expect(performance.now() - started).toBeGreaterThanOrEqual(190);
  });

  it('fails cleanly on a garbage page: status failed, nothing removed, no snapshot, no token anywhere', async () => {
    h = await t.start({ simulator: { devices: 500, seed: 13 } });
    const good = await h.sync();
    expect(good.status).toBe('succeeded');
    h.sim.injectFault({ match: { path: 'devices', page: 4 }, kind: 'garbage', body: `<html>oops ${TEST_TOKEN}</html>` });
    const bad = await h.sync();
    expect(bad.status).toBe('failed');
    expect(bad.errorCode).toBe('API_BAD_BODY');
    expect(bad.error).toMatch(/page 4/);
    const [run] = await rows<{ status: string; error_code: string; error: string; pages: number }>(
      sql`select status, error_code, error, pages from metaaccess.sync_runs where id = ${bad.runId}`,
    );
    expect(run).toMatchObject({ status: 'failed', error_code: 'API_BAD_BODY', pages: 3 });
    const removed = await rows<{ n: number }>(sql`select count(*)::int as n from metaaccess.devices where removed_at is not null`);
    expect(removed[0]!.n).toBe(0);
    const snaps = await rows<{ run_id: number }>(sql`select distinct run_id from metaaccess.snapshots`);
    expect(snaps).toEqual([{ run_id: good.runId }]);
    const everything = JSON.stringify(await rows(sql`select * from metaaccess.sync_runs`)) + h.logs.text + JSON.stringify(bad);
    expect(everything).not.toContain(TEST_TOKEN);
  });

  it('renews an OAuth token once on a 401 and carries on', async () => {
    h = await t.start({
      simulator: { devices: 300, seed: 14, auth: TEST_CLIENT },
      api: { credentials: { kind: 'oauth', ...TEST_CLIENT } },
    });
    let revoked = false;
    h.sim.onPage((page) => {
      if (page === 3 && !revoked) {
        revoked = true;
        h!.sim.revokeTokens();
      }
    });
    const run = await h.sync();
    expect(run.status).toBe('succeeded');
    expect(h.sim.stats().tokenRequests).toBe(2);
    expect(run.counters.devicesSeen).toBe(300);
    expect(h.logs.text).not.toContain(TEST_CLIENT.clientSecret);
  });

  it('gives up after one renewal when the server keeps refusing the token', async () => {
    h = await t.start({
      simulator: { devices: 100, seed: 15, auth: TEST_CLIENT },
      api: { credentials: { kind: 'oauth', ...TEST_CLIENT } },
    });
    h.sim.injectFault({ match: { path: 'devices' }, kind: 'status', status: 401, times: 100 });
    const run = await h.sync();
    expect(run.status).toBe('failed');
    expect(run.errorCode).toBe('API_UNAUTHORIZED');
    // The first token, and one renewal; pages already on their way when the first 401 came back
    // (the account request proved the credentials, so pages go out together) may each renew once
    // more — never a loop.
    expect(h.sim.stats().tokenRequests).toBeGreaterThanOrEqual(2);
    expect(h.sim.stats().tokenRequests).toBeLessThanOrEqual(3);
    expect(h.sim.stats().requests).toBeLessThan(30);
  });

  it('never retries a 406', async () => {
    h = await t.start({ simulator: { devices: 100, seed: 16 } });
    h.sim.injectFault({ match: { path: 'devices', page: 1 }, kind: 'status', status: 406, times: 5 });
    const run = await h.sync();
    expect(run.status).toBe('failed');
    expect(run.errorCode).toBe('API_LIMIT_REJECTED');
    expect(run.counters.retries).toBe(0);
  });

  it('fails with the status after the retries run out', async () => {
    h = await t.start({ simulator: { devices: 100, seed: 17 }, api: { maxRetries: 2 } });
    h.sim.injectFault({ match: { path: 'devices', page: 1 }, kind: 'status', status: 502, times: 10, body: 'bad gateway' });
    const run = await h.sync();
    expect(run.status).toBe('failed');
    expect(run.errorCode).toBe('API_SERVER_ERROR');
    expect(run.error).toMatch(/HTTP 502/);
    expect(run.counters.retries).toBe(2);
  });

  it('retries a request that times out', async () => {
    h = await t.start({ simulator: { devices: 60, seed: 18 }, api: { timeoutMs: 200 } });
    h.sim.injectFault({ match: { path: 'devices', page: 1 }, kind: 'delay', delayMs: 600 });
    const run = await h.sync();
    expect(run.status).toBe('succeeded');
    expect(run.counters.retries).toBeGreaterThanOrEqual(1);
  });
});

describe('bad records', () => {
  it('rejects unusable records with a reason, stores the rest, and does not reject them twice on a recheck', async () => {
    h = await t.start({ simulator: { devices: 120, seed: 19 } });
    await h.sync();
    const list = h.sim.list();
    // One device gone (forces the recheck pass) and two records no normalizer can use.
    h.sim.setDevices([...list.slice(0, 60), { hostname: 'no-hwid' }, { hwid: { nested: true } }, ...list.slice(61)]);
    const run = await h.sync();
    expect(run.status).toBe('succeeded');
    expect(run.counters).toMatchObject({ recordsRejected: 2, devicesRemoved: 1, devicesSeen: 119 });
    const rejected = await rows<{ reason: string; page: number }>(sql`select reason, page from metaaccess.rejected_records order by id`);
    expect(rejected).toHaveLength(2);
    expect(rejected[0]!.reason).toMatch(/hwid/);
    expect(rejected[1]!.reason).toMatch(/hwid/);
  });
});
