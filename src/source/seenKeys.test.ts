import { describe, expect, it } from 'vitest';
import { createSeenKeys, hash32 } from './seenKeys.ts';

describe('seen keys', () => {
  it('never misses a key it holds, across growth', () => {
    const seen = createSeenKeys(4);
    const keys = Array.from({ length: 200_000 }, (_, i) => `DEV${String(i).padStart(10, '0')}`);
    keys.forEach((k) => seen.add(k));
    // A repeat is always reported (false = "maybe seen"): a device delivered twice is never stored twice.
    expect(keys.filter((k) => seen.add(k))).toEqual([]);
  });

  it('reports few false hits on distinct keys (each costs a confirmation, not a lost device)', () => {
    const seen = createSeenKeys();
    const n = 200_000;
    let falseHits = 0;
    // Sequential, near-identical keys are the hard case for a weak hash.
    for (let i = 0; i < n; i++) if (!seen.add(`DEV${String(i).padStart(10, '0')}`)) falseHits++;
    // Expected for a good 32-bit hash: about n² / 2³³ ≈ 5.
    expect(falseHits).toBeLessThan(50);
    expect(seen.size).toBe(n - falseHits);
  });

  it('tells keys apart that differ only in case or length', () => {
    const seen = createSeenKeys();
    expect(['abc', 'ABC', 'abc ', 'ab', ''].map((k) => seen.add(k))).toEqual([true, true, true, true, true]);
    expect(hash32('x')).not.toBe(hash32('y'));
  });
});
