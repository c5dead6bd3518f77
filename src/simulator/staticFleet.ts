/**
 * A fleet that is never held in memory: device i is generated from (seed, i) whenever a page
 * needs it, so a million-device account starts at once and costs no more memory than one page.
 * The list cannot change, which is what scale tests need; tests of a changing list use createFleet.
 */
import { generateDevice, type DeviceOptions, type RawDevice } from './devices.ts';
import { accountIdOf, countDevices, type Fleet, type FleetCounts, type FleetOptions } from './fleet.ts';
import { createRng, deriveSeed } from './rng.ts';

/** hwid suffix width: base-36 device indices, unique up to 36^6 ≈ 2 billion devices. */
const INDEX_CHARS = 6;
const MAX_DEVICES = 36 ** INDEX_CHARS;
const COUNT_SAMPLE = 20_000;

export function createStaticFleet({ seed, devices: size, mobileShare }: FleetOptions): Fleet {
  if (!Number.isInteger(size) || size < 0 || size > MAX_DEVICES)
    throw new Error(`a static fleet holds 0..${MAX_DEVICES} devices, not ${size}`);
  const base = deriveSeed(seed, 'static devices');
  const accountId = accountIdOf(seed);
  const device = (index: number): RawDevice => {
    // An odd multiplier spreads neighbouring indices over the whole seed space.
    const rng = createRng((base ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0);
    const opts: DeviceOptions = { mobileShare, accountId, hwidSuffix: index.toString(36).toUpperCase().padStart(INDEX_CHARS, '0') };
    return generateDevice(rng, index + 1, opts);
  };
  /** Indices [from, to) in list order: ascending is oldest enrolment first. */
  const range = (from: number, to: number, descending: boolean): RawDevice[] => {
    const out: RawDevice[] = [];
    if (descending) for (let i = to - 1; i >= from; i--) out.push(device(i));
    else for (let i = from; i < to; i++) out.push(device(i));
    return out;
  };
  /**
   * The list never changes: counted once, when first asked. Past COUNT_SAMPLE devices, from an
   * evenly spaced sample, scaled: counting a million would hold the simulator up for seconds.
   */
  let counted: FleetCounts | undefined;
  function countOnce(): FleetCounts {
    const step = Math.max(1, size / COUNT_SAMPLE);
    const sampled = countDevices(
      (function* () {
        for (let i = 0; i < size; i += step) yield device(Math.floor(i));
      })(),
    );
    const scale = sampled.devices === 0 ? 0 : size / sampled.devices;
    return { devices: size, uncompliant: Math.round(sampled.uncompliant * scale), critical: Math.round(sampled.critical * scale) };
  }
  const immutable = (what: string) => (): never => {
    throw new Error(`a static fleet cannot ${what}: use the default fleet for a list that changes`);
  };
  return {
    size,
    add: immutable('add devices'),
    remove: immutable('remove devices'),
    hide: immutable('hide devices'),
    change: immutable('change devices'),
    replace: immutable('replace its devices'),
    evolve: immutable('evolve'),
    list: (order) => range(0, size, order === 'des'),
    page(order, offset, limit) {
      if (order === 'asc') return JSON.stringify(range(Math.min(offset, size), Math.min(offset + limit, size), false));
      const end = Math.max(0, size - offset);
      return JSON.stringify(range(Math.max(0, end - limit), end, true));
    },
    counts: () => (counted ??= countOnce()),
    lookup(hwid) {
      // The suffix names the index; regenerating that device tells whether the rest matches too.
      const suffix = hwid.slice(-INDEX_CHARS);
      const index = /^[0-9A-Z]+$/.test(suffix) ? parseInt(suffix, 36) : size;
      if (index >= size) return undefined;
      const candidate = device(index);
      return candidate.hwid === hwid ? candidate : undefined;
    },
  };
}
