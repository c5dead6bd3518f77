/**
 * The hwids a run has handled, in 8 bytes each instead of a Set<string>'s ~90 (a million devices
 * would otherwise hold ~90 MB of strings for the whole run). Keys are kept as 64-bit hashes in
 * an open-addressing table, so a hit means "probably seen": the caller confirms hits against the
 * database, where every stored device carries the run's id. A miss is always exact.
 */
export interface SeenKeys {
  /** Records `key`; true if it was new, false if an equal hash was already there (confirm it). */
  add(key: string): boolean;
  readonly size: number;
}

const EMPTY = 0;

export function createSeenKeys(initialCapacity = 1024): SeenKeys {
  let capacity = powerOfTwoAtLeast(initialCapacity * 2);
  // Linear probing stays short up to a load of 3/4; 1M keys then take 16 MB.
  let table = new Uint32Array(capacity * 2);
  let size = 0;

  function insert(hi: number, lo: number): boolean {
    const mask = capacity - 1;
    for (let slot = (lo ^ hi) & mask; ; slot = (slot + 1) & mask) {
      const h = table[slot * 2]!;
      const l = table[slot * 2 + 1]!;
      if (h === EMPTY && l === EMPTY) {
        table[slot * 2] = hi;
        table[slot * 2 + 1] = lo;
        return true;
      }
      if (h === hi && l === lo) return false;
    }
  }

  function grow(): void {
    const old = table;
    capacity *= 2;
    table = new Uint32Array(capacity * 2);
    for (let i = 0; i < old.length; i += 2) {
      if (old[i] !== EMPTY || old[i + 1] !== EMPTY) insert(old[i]!, old[i + 1]!);
    }
  }

  return {
    add(key) {
      const [hi, lo] = hash64(key);
      const added = insert(hi, lo);
      if (added && ++size * 4 > capacity * 3) grow();
      return added;
    },
    get size() {
      return size;
    },
  };
}

/** Two independent 32-bit FNV-1a hashes (different offset bases), mixed; never (0, 0). */
export function hash64(key: string): [number, number] {
  let a = 0x811c9dc5;
  let b = 0x9747b28c;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x01000193);
    b ^= b >>> 13;
  }
  a = fmix(a) >>> 0;
  b = fmix(b ^ key.length) >>> 0;
  return a === EMPTY && b === EMPTY ? [0, 1] : [a, b];
}

function fmix(h: number): number {
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
