import { describe, expect, it } from 'vitest';
import { createFakeClock } from './fakeClock.ts';

describe('fake clock', () => {
  it('wakes sleepers at their own deadlines, in order, as time is advanced', async () => {
    const clock = createFakeClock(1000);
    const woke: string[] = [];
    const nap = (name: string, ms: number) => clock.sleep(ms).then(() => woke.push(`${name}@${clock.now()}`));
    void nap('b', 30);
    void nap('a', 10);
    void nap('c', 30);
    await clock.advance(20);
    expect(woke).toEqual(['a@1010']);
    expect(clock.now()).toBe(1020);
    await clock.advance(100);
    expect(woke).toEqual(['a@1010', 'b@1030', 'c@1030']);
    expect(clock.now()).toBe(1120);
  });

  it('runs chained sleeps within one advance, each at its deadline', async () => {
    const clock = createFakeClock(0);
    const times: number[] = [];
    const chain = (async () => {
      for (let i = 0; i < 3; i++) {
        await clock.sleep(25);
        times.push(clock.now());
      }
    })();
    await clock.advance(100);
    await chain;
    expect(times).toEqual([25, 50, 75]);
  });

  it('rejects a sleep with the signal reason when aborted, and forgets it', async () => {
    const clock = createFakeClock(0);
    const controller = new AbortController();
    const nap = clock.sleep(50, controller.signal);
    expect(clock.sleepers).toBe(1);
    controller.abort(new Error('stop'));
    await expect(nap).rejects.toThrow('stop');
    expect(clock.sleepers).toBe(0);
    await expect(clock.sleep(10, controller.signal)).rejects.toThrow('stop');
  });

  it('run() advances until the promise settles, and refuses to wait forever', async () => {
    const clock = createFakeClock(0);
    expect(await clock.run(clock.sleep(500).then(() => clock.now()))).toBe(500);
    await expect(clock.run(Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(clock.run(new Promise(() => undefined))).rejects.toThrow(/wait forever/);
  });
});
