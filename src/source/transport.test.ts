import { afterEach, describe, expect, it } from 'vitest';
import { createSimulator, DEVICES_PATH, type Simulator } from '../simulator/simulator.ts';
import { createGotTransport, ResponseTooLargeError, type HttpRequest } from './transport.ts';

const MIB = 1024 * 1024;

let sim: Simulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

async function startSim(): Promise<Simulator> {
  sim = createSimulator({ devices: 30, seed: 5 });
  await sim.start();
  return sim;
}

const pageRequest = (s: Simulator, extra: Partial<HttpRequest> = {}): HttpRequest => ({
  method: 'GET',
  url: new URL(`${DEVICES_PATH}?access_token=T&limit=10&page=1&order=asc`, s.url),
  timeoutMs: 5000,
  ...extra,
});

/**
 * The highest RSS seen while `work` runs, above what it was before. Sampled on a timer: the
 * client reads the body on the same thread, so a body held whole would show up between reads.
 * Bounded reads grow it by a few megabytes, reading the same bodies whole by hundreds: the
 * tests' bound sits far from both.
 */
async function peakRssGrowth(work: () => Promise<unknown>): Promise<number> {
  const before = process.memoryUsage().rss;
  let peak = before;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 2);
  try {
    await work();
  } finally {
    clearInterval(timer);
    peak = Math.max(peak, process.memoryUsage().rss);
  }
  return peak - before;
}

describe('got transport', () => {
  it('returns status, headers and body, and reports when the request was sent', async () => {
    const s = await startSim();
    const transport = createGotTransport({ maxResponseBytes: MIB });
    const sent: boolean[] = [];
    const first = await transport(pageRequest(s, { onSent: ({ reusedSocket }) => sent.push(reusedSocket) }));
    expect(first.status).toBe(200);
    expect(first.headers['content-type']).toMatch(/application\/json/);
    expect((JSON.parse(first.body) as unknown[]).map((d) => (d as { hwid: string }).hwid)).toEqual(
      s
        .list()
        .slice(0, 10)
        .map((d) => d.hwid),
    );
    await transport(pageRequest(s, { onSent: ({ reusedSocket }) => sent.push(reusedSocket) }));
    expect(sent).toEqual([false, true]);

    const refused = await transport(pageRequest(s, { url: new URL(`${DEVICES_PATH}?access_token=T&limit=99`, s.url) }));
    expect(refused.status).toBe(406);
    expect(JSON.parse(refused.body)).toEqual({ result: 406, msg: 'Too many devices to return' });
  });

  it('accepts a body of exactly the limit and refuses one byte more', async () => {
    const s = await startSim();
    const transport = createGotTransport({ maxResponseBytes: 4096 });
    s.injectFault({ kind: 'oversized', bytes: 4096 });
    expect((await transport(pageRequest(s))).body).toHaveLength(4096);
    s.injectFault({ kind: 'oversized', bytes: 4097 });
    const error = await transport(pageRequest(s)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ResponseTooLargeError);
    expect(error).toMatchObject({ code: 'RESPONSE_TOO_LARGE', limitBytes: 4096 });
    // The connection the oversized body was on is gone, the server is not: the next request works.
    const onePage = await transport(pageRequest(s, { url: new URL(`${DEVICES_PATH}?access_token=T&limit=1`, s.url) }));
    expect(onePage.status).toBe(200);
  });

  it('counts a gzip body after inflating it: a bomb of 200 MB fails at 1 MiB without inflating the rest', async () => {
    const s = await startSim();
    const transport = createGotTransport({ maxResponseBytes: MIB });
    s.injectFault({ kind: 'gzip-bomb', bytes: 200 * MIB });
    let error: unknown;
    const growth = await peakRssGrowth(async () => {
      error = await transport(pageRequest(s)).catch((e: unknown) => e);
    });
    expect(error).toBeInstanceOf(ResponseTooLargeError);
    expect(growth).toBeLessThan(32 * MIB);
    expect(s.log.at(-1)).toMatchObject({ path: 'devices', status: 200 });
    expect((await transport(pageRequest(s))).status).toBe(200);
  });

  it('stops reading a 150 MB body at the limit, with memory staying flat', async () => {
    const s = await startSim();
    const transport = createGotTransport({ maxResponseBytes: MIB });
    s.injectFault({ kind: 'oversized', bytes: 150 * MIB });
    let error: unknown;
    const growth = await peakRssGrowth(async () => {
      error = await transport(pageRequest(s)).catch((e: unknown) => e);
    });
    expect(error).toBeInstanceOf(ResponseTooLargeError);
    expect(growth).toBeLessThan(32 * MIB);
    expect((await transport(pageRequest(s))).status).toBe(200);
  });

  it('keeps the request timeout, surfacing it as ETIMEDOUT for the retry policy', async () => {
    const s = await startSim();
    s.injectFault({ kind: 'delay', delayMs: 2000 });
    const error = await createGotTransport({ maxResponseBytes: MIB })(pageRequest(s, { timeoutMs: 100 })).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ETIMEDOUT' });
  });

  it('surfaces a reset connection as ECONNRESET and an abort as the signal fired', async () => {
    const s = await startSim();
    const transport = createGotTransport({ maxResponseBytes: MIB });
    s.injectFault({ kind: 'reset' });
    expect(await transport(pageRequest(s)).catch((e: unknown) => e)).toMatchObject({ code: 'ECONNRESET' });
    s.injectFault({ kind: 'delay', delayMs: 2000 });
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('stop')), 50);
    const aborted = await transport(pageRequest(s, { signal: controller.signal })).catch((e: unknown) => e);
    expect(controller.signal.aborted).toBe(true);
    expect(aborted).toBeInstanceOf(Error);
  });
});
