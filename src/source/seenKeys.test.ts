import { describe, expect, it } from 'vitest';
import { createSeenKeys, hash64 } from './seenKeys.ts';

describe('seen keys', () => {
  it('answers new for every distinct key and seen for repeats, across growth', () => {
    const seen = createSeenKeys(4);
    const keys = Array.from({ length: 200_000 }, (_, i) => `DEV${String(i).padStart(10, '0')}`);
    // Sequential, near-identical keys are the hard case for a weak hash: none may look seen.
    expect(keys.filter((k) => !seen.add(k))).toEqual([]);
    expect(seen.size).toBe(keys.length);
    expect(keys.filter((k) => seen.add(k))).toEqual([]);
    expect(seen.size).toBe(keys.length);
  });

  it('tells keys apart that differ only in case or length', () => {
    const seen = createSeenKeys();
    expect(['abc', 'ABC', 'abc ', 'ab', ''].map((k) => seen.add(k))).toEqual([true, true, true, true, true]);
    expect(hash64('x')).not.toEqual(hash64('y'));
  });
});
