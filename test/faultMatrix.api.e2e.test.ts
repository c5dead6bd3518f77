/**
 * Fault matrix, API side: the built CLI (`sync`) against a simulator that misbehaves, with the
 * invariants every run must keep (test/helpers/faultMatrix.ts).
 */
import { describe, expect, it } from 'vitest';
import { cleanUpAfterEach } from './helpers/harness.ts';
import {
  captureBaseline,
  expectInvariants,
  expectNoCrash,
  expectNoSecrets,
  openCase,
  parseSummary,
  servedPages,
  TEST_TOKEN,
  type FaultCase,
} from './helpers/faultMatrix.ts';

const cleanUp = cleanUpAfterEach();
/** One request at a time (prefetch 2, each start 25 ms apart): the list changes exactly between pages. */
const SEQUENTIAL = { limit: 1, windowMs: 5 };

async function baseline(c: FaultCase) {
  const first = await c.sync();
  expect(first.code, first.stderr).toBe(0);
  return { logFrom: c.sim.log.length, trend: await captureBaseline(c) };
}

async function removedHwids(c: FaultCase): Promise<string[]> {
  return (await c.query<{ hwid: string }>(`select hwid from metaaccess.devices where removed_at is not null order by hwid`)).map(
    (r) => r.hwid,
  );
}

describe('fault matrix: short pages and a shifting list', () => {
  it('a short page mid-list in the first read does not end the list, and its missing device is kept', async () => {
    const c = await openCase(cleanUp, { devices: 600, seed: 101 });
    const { logFrom } = await baseline(c);
    const dropped = String(c.sim.list()[5 * 50 - 1]!.hwid);
    c.sim.injectFault({ match: { path: 'devices', page: 5 }, kind: 'short', drop: 1 });
    const result = await c.sync();
    const row = await expectInvariants(c, { result, exitCode: 0, status: 'succeeded', errorCode: null });
    // The short page was served, and the read went on past it to the real end.
    const pages = servedPages(c.sim, logFrom);
    expect(pages).toContain(5);
    expect(Math.max(...pages)).toBe(12);
    expect(row.devices_seen).toBe(599);
    expect(row.devices_removed).toBe(0);
    // The device the page left out was asked for by Device Details and kept.
    expect(
      c.sim.log
        .slice(logFrom)
        .filter((e) => e.path === 'details')
        .map((e) => e.hwid),
    ).toContain(dropped);
    expect(await removedHwids(c)).toEqual([]);
  });

  it('a short page in the re-read (the first read missed more devices than a read costs) removes no present device', async () => {
    const c = await openCase(cleanUp, { devices: 600, seed: 102, cliRate: SEQUENTIAL });
    const { logFrom } = await baseline(c);
    const gone = c.sim.removeDevices(40);
    let page1Served = 0;
    let injectedAt = -1;
    c.sim.onPage((page) => {
      if (page === 1 && ++page1Served === 2) {
        injectedAt = c.sim.log.length;
        c.sim.injectFault({ match: { path: 'devices', page: 5 }, kind: 'short', drop: 1 });
      }
    });
    const result = await c.sync();
    c.sim.onPage(null);
    await expectInvariants(c, { result, exitCode: 0, status: 'succeeded', errorCode: null });
    // The list was read twice, and the short page was served in the second read.
    expect(servedPages(c.sim, logFrom).filter((p) => p === 1)).toHaveLength(2);
    expect(injectedAt).toBeGreaterThan(0);
    expect(servedPages(c.sim, injectedAt)).toContain(5);
    expect((await removedHwids(c)).every((h) => gone.includes(h))).toBe(true);
  });

  it('a short page in both reads removes no present device', async () => {
    const c = await openCase(cleanUp, { devices: 600, seed: 103, oauth: true, cliRate: SEQUENTIAL });
    const { logFrom } = await baseline(c);
    const gone = c.sim.removeDevices(40);
    c.sim.injectFault({ match: { path: 'devices', page: 5 }, kind: 'short', drop: 1, times: 2 });
    const result = await c.sync();
    const row = await expectInvariants(c, { result, exitCode: 0, status: 'succeeded', errorCode: null });
    const pages = servedPages(c.sim, logFrom);
    expect(pages.filter((p) => p === 1)).toHaveLength(2);
    expect(pages.filter((p) => p === 5)).toHaveLength(2);
    // Pages past the short one were read in both passes: the short page ended neither.
    expect(pages.filter((p) => p === 6)).toHaveLength(2);
    expect(row.devices_seen).toBe(559);
    expect((await removedHwids(c)).every((h) => gone.includes(h))).toBe(true);
  });

  it('deletions at the front of the list during both reads remove no present device', async () => {
    const c = await openCase(cleanUp, { devices: 600, seed: 104, cliRate: SEQUENTIAL });
    const { logFrom } = await baseline(c);
    const gone = c.sim.removeDevices(40);
    const deletedMidRun: string[] = [];
    c.sim.onPage((page) => {
      if (page !== 3) return;
      const list = c.sim.list();
      deletedMidRun.push(...list.slice(0, 2).map((d) => String(d.hwid)));
      c.sim.setDevices(list.slice(2));
    });
    const result = await c.sync();
    c.sim.onPage(null);
    await expectInvariants(c, { result, exitCode: 0, status: 'succeeded', errorCode: null });
    expect(servedPages(c.sim, logFrom).filter((p) => p === 3).length).toBeGreaterThanOrEqual(2);
    expect(deletedMidRun.length).toBeGreaterThanOrEqual(4);
    expect((await removedHwids(c)).every((h) => gone.includes(h) || deletedMidRun.includes(h))).toBe(true);
  });

  it('an empty first page for a populated account: exit 4, incomplete, the removal guard named, no trend rows', async () => {
    const c = await openCase(cleanUp, { devices: 500, seed: 105, cliRate: SEQUENTIAL });
    const { logFrom, trend } = await baseline(c);
    c.sim.injectFault({ match: { path: 'devices' }, kind: 'empty', times: 2 });
    const result = await c.sync();
    const row = await expectInvariants(c, { result, exitCode: 4, status: 'incomplete', errorCode: null, baseline: trend });
    // The two empty answers were pages 1 and 2 (the confirmation of the early end), and nothing was seen.
    expect(
      c.sim.log
        .slice(logFrom)
        .filter((e) => e.path === 'devices')
        .slice(0, 2)
        .map((e) => [e.page, e.status]),
    ).toEqual([
      [1, 200],
      [2, 200],
    ]);
    expect(row.devices_seen).toBe(0);
    expect(row.notes).toMatch(/removal guard/);
    expect(parseSummary(result)).toMatchObject({ status: 'incomplete' });
    expect(await removedHwids(c)).toEqual([]);
  });
});

describe('fault matrix: oversized responses', () => {
  // A low heap ceiling: a client that buffered the body whole would die (134) rather than pass by luck.
  const LIMITS = { METAACCESS_MAX_RESPONSE_BYTES: '1048576', METAACCESS_MAX_RETRIES: '2', NODE_OPTIONS: '--max-old-space-size=160' };

  for (const fault of [
    { kind: 'gzip-bomb' as const, bytes: 200 * 1024 * 1024, oauth: true },
    { kind: 'oversized' as const, bytes: 40 * 1024 * 1024, oauth: false },
  ]) {
    it(`a ${fault.kind} of ${fault.bytes / 1024 / 1024} MB fails the run with API_RESPONSE_TOO_LARGE, without a crash`, async () => {
      const c = await openCase(cleanUp, { devices: 300, seed: fault.kind === 'gzip-bomb' ? 106 : 107, oauth: fault.oauth });
      const { logFrom, trend } = await baseline(c);
      c.sim.injectFault({ match: { path: 'devices', page: 2 }, kind: fault.kind, bytes: fault.bytes, times: 10 });
      const result = await c.sync(LIMITS);
      expectNoCrash(result);
      await expectInvariants(c, { result, exitCode: 1, status: 'failed', errorCode: 'API_RESPONSE_TOO_LARGE', baseline: trend });
      expect(servedPages(c.sim, logFrom)).toContain(2);
      expect(parseSummary(result)).toMatchObject({ status: 'failed', errorCode: 'API_RESPONSE_TOO_LARGE', devicesRemoved: 0 });
      expect(await removedHwids(c)).toEqual([]);
    });
  }
});

describe('fault matrix: plain http:// to a remote host', () => {
  it('is refused at configuration time: exit 2, one line naming METAACCESS_URL, no request, no database touched', async () => {
    const c = await openCase(cleanUp, { devices: 10, seed: 108 });
    const result = await c.sync({ METAACCESS_URL: 'http://metaaccess.example.com' });
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toContain('METAACCESS_URL');
    expect(result.stderr).toMatch(/METAACCESS_ALLOW_INSECURE/);
    expect(c.sim.stats().requests).toBe(0);
    expect(await c.query(`select id from metaaccess.sync_runs`)).toEqual([]);
    await expectNoSecrets(c, [result.stdout, result.stderr]);
  });

  it('with METAACCESS_ALLOW_INSECURE=true passes configuration (then fails to connect: exit 1, not 2)', async () => {
    const c = await openCase(cleanUp, { devices: 10, seed: 109 });
    const started = performance.now();
    const result = await c.sync({
      METAACCESS_URL: 'http://metaaccess.example.com',
      METAACCESS_ALLOW_INSECURE: 'true',
      METAACCESS_MAX_RETRIES: '0',
      METAACCESS_TIMEOUT_MS: '3000',
    });
    expect(performance.now() - started).toBeLessThan(20_000);
    expectNoCrash(result);
    expect(result.stderr).not.toMatch(/configuration error/);
    const row = await expectInvariants(c, { result, exitCode: 1, status: 'failed' });
    expect(row.error_code).toMatch(/^API_/);
    // The token travels in the URL: it must not come back in the connection error.
    expect(result.stderr + result.stdout + (row.error ?? '')).not.toContain(TEST_TOKEN);
  });
});
