/**
 * The hwids a run has handled, in 4 bytes each instead of a string each: a Set<string> would hold
 * every hwid of a large fleet for the whole run (see BENCHMARKS.md, "Memory"). Keys are kept as
 * 32-bit hashes in an open-addressing table, so a hit means only "maybe seen": the caller confirms
 * hits against the database, where every stored device carries the run's id. A miss is always
 * exact. A lookup is a false hit with odds of the keys held over 2^32, rare even for the largest
 * fleets, and costs one small query for its page.
 */
export interface SeenKeys {
  /** Records `key`; true if it was new, false if an equal hash was already there (confirm it). */
  add(key: string): boolean;
  readonly size: number;
}

const EMPTY = 0;

export function createSeenKeys(initialCapacity = 1024): SeenKeys {
  // Linear probing stays short up to a load of 3/4.
  let capacity = powerOfTwoAtLeast(initialCapacity * 2);
  let table = new Uint32Array(capacity);
  let size = 0;

  function insert(h: number): boolean {
    const mask = capacity - 1;
    for (let slot = mix(h) & mask; ; slot = (slot + 1) & mask) {
      const stored = table[slot]!;
      if (stored === EMPTY) {
        table[slot] = h;
        return true;
      }
      if (stored === h) return false;
    }
  }

  function grow(): void {
    const old = table;
    capacity *= 2;
    table = new Uint32Array(capacity);
    for (const h of old) if (h !== EMPTY) insert(h);
  }

  return {
    add(key) {
      const added = insert(hash32(key));
      if (added && ++size * 4 > capacity * 3) grow();
      return added;
    },
    get size() {
      return size;
    },
  };
}

/** FNV-1a over UTF-16 code units with a final avalanche; never 0 (the empty slot). */
export function hash32(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  h = mix(h ^ key.length) >>> 0;
  return h === EMPTY ? 1 : h;
}

function mix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

function powerOfTwoAtLeast(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}
