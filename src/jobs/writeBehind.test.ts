import { describe, expect, it } from 'vitest';
import { createWriteBehind } from './writeBehind.ts';

const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));

/** A writer whose writes finish only when the test says so. */
function controlledWriter() {
  const batches: number[][] = [];
  const finishers: ((error?: Error) => void)[] = [];
  const write = (items: number[]) =>
    new Promise<void>((resolve, reject) => {
      batches.push(items);
      finishers.push((error) => (error ? reject(error) : resolve()));
    });
  const finishNext = async (error?: Error) => {
    finishers.shift()!(error);
    await tick();
  };
  return { batches, write, finishNext };
}

describe('write-behind', () => {
  it('writes the first item at once, and the items that arrive meanwhile as one batch, in order', async () => {
    const w = controlledWriter();
    const writer = createWriteBehind<number>({ write: w.write, maxRecords: 100 });
    await writer.add(1, 10);
    expect(w.batches).toEqual([[1]]);
    await writer.add(2, 10);
    await writer.add(3, 10);
    expect(w.batches).toEqual([[1]]);
    await w.finishNext();
    expect(w.batches).toEqual([[1], [2, 3]]);
    const flushed = writer.flush();
    await w.finishNext();
    await flushed;
    expect(w.batches).toEqual([[1], [2, 3]]);
  });

  it('makes the producer wait once the next batch is full', async () => {
    const w = controlledWriter();
    const writer = createWriteBehind<number>({ write: w.write, maxRecords: 20 });
    await writer.add(1, 10);
    await writer.add(2, 10);
    await writer.add(3, 10);
    let added = false;
    const fourth = writer.add(4, 10).then(() => {
      added = true;
    });
    await tick(5);
    expect(added).toBe(false);
    await w.finishNext();
    await fourth;
    expect(w.batches).toEqual([[1], [2, 3]]);
    await w.finishNext();
    expect(w.batches).toEqual([[1], [2, 3], [4]]);
  });

  it('throws a failed write at the next call, and writes nothing after it', async () => {
    const w = controlledWriter();
    const writer = createWriteBehind<number>({ write: w.write, maxRecords: 100 });
    await writer.add(1, 10);
    await writer.add(2, 10);
    await w.finishNext(new Error('disk full'));
    await expect(writer.add(3, 10)).rejects.toThrow('disk full');
    await expect(writer.flush()).rejects.toThrow('disk full');
    expect(w.batches).toEqual([[1]]);
  });

  it('abandon waits for the write under way and starts no other', async () => {
    const w = controlledWriter();
    const writer = createWriteBehind<number>({ write: w.write, maxRecords: 100 });
    await writer.add(1, 10);
    await writer.add(2, 10);
    let done = false;
    const abandoned = writer.abandon().then(() => {
      done = true;
    });
    await tick(5);
    expect(done).toBe(false);
    await w.finishNext();
    await abandoned;
    expect(w.batches).toEqual([[1]]);
  });
});
