import { changeDevice, generateDevice, textOf, type DeviceOptions, type ListOrder, type RawDevice } from './devices.ts';
import { createRng, deriveSeed, HEX, randomChars, type Rng } from './rng.ts';

export interface FleetOptions {
  seed: number;
  devices: number;
  mobileShare: number;
}

/** 32 hex chars; appears in every remediation link of the account. */
export function accountIdOf(seed: number): string {
  return randomChars(createRng(deriveSeed(seed, 'account')), 32, HEX);
}

/** What the simulator needs of a device list; createFleet keeps one in memory, createStaticFleet generates it. */
export interface Fleet {
  readonly size: number;
  add(n: number): string[];
  remove(n: number): string[];
  /** Like remove, but lookup() still finds them (archived devices). */
  hide(n: number): string[];
  change(n: number): string[];
  replace(list: RawDevice[]): void;
  /**
   * The list becomes what `step` makes of it (devices may change in place); `enrol` makes a
   * device with a hwid never used in this account, from the stream it is given.
   */
  evolve(step: (devices: RawDevice[], enrol: (rng: Rng) => RawDevice) => RawDevice[]): void;
  list(order: ListOrder): RawDevice[];
  /** One page of the list as JSON text. */
  page(order: ListOrder, offset: number, limit: number): string;
  /** What Device Details knows: a device in the list or hidden, else undefined. */
  lookup(hwid: string): RawDevice | undefined;
  /** What Account v2 reports about the listed devices. */
  counts(): FleetCounts;
}

export interface FleetCounts {
  devices: number;
  uncompliant: number;
  critical: number;
}

/** Not compliant (status 1) and critical (critical_status 1) among `devices`. */
export function countDevices(devices: Iterable<RawDevice>): FleetCounts {
  const counts = { devices: 0, uncompliant: 0, critical: 0 };
  for (const device of devices) {
    counts.devices += 1;
    if (device.status === 1) counts.uncompliant += 1;
    if (device.critical_status === 1) counts.critical += 1;
  }
  return counts;
}

/** The account's device list, oldest enrolment first; hwids are never reused, even after removal. */
export function createFleet({ seed, devices: initial, mobileShare }: FleetOptions): Fleet {
  const genRng = createRng(deriveSeed(seed, 'devices'));
  const pickRng = createRng(deriveSeed(seed, 'mutations'));
  const accountId = accountIdOf(seed);
  const used = new Set<string>();
  const opts: DeviceOptions = { mobileShare, accountId, isTaken: (hwid) => used.has(hwid) };
  const hwidOf = (device: RawDevice | undefined): string => textOf(device?.hwid);
  let devices: RawDevice[] = [];
  const hidden = new Map<string, RawDevice>();
  let seq = 0;
  const chosen = (n: number): Set<number> => new Set(sampleIndices(pickRng, devices.length, n));
  const fleet = {
    get size() {
      return devices.length;
    },
    add(n: number): string[] {
      const added = Array.from({ length: Math.max(0, n) }, () => generateDevice(genRng, ++seq, opts));
      for (const device of added) {
        used.add(hwidOf(device));
        // One by one: push(...added) passes each device as an argument and overflows the stack.
        devices.push(device);
      }
      return added.map(hwidOf);
    },
    remove(n: number): string[] {
      const doomed = chosen(n);
      const removed = devices.filter((_, i) => doomed.has(i));
      devices = devices.filter((_, i) => !doomed.has(i));
      return removed.map(hwidOf);
    },
    hide(n: number): string[] {
      const picks = chosen(n);
      const picked = devices.filter((_, i) => picks.has(i));
      devices = devices.filter((_, i) => !picks.has(i));
      for (const device of picked) hidden.set(hwidOf(device), device);
      return picked.map(hwidOf);
    },
    change(n: number): string[] {
      const picks = chosen(n);
      const picked = devices.filter((_, i) => picks.has(i));
      for (const device of picked) changeDevice(pickRng, device);
      return picked.map(hwidOf);
    },
    replace(list: RawDevice[]): void {
      devices = structuredClone(list);
      hidden.clear();
      for (const device of devices) used.add(hwidOf(device));
    },
    evolve(step: (devices: RawDevice[], enrol: (rng: Rng) => RawDevice) => RawDevice[]): void {
      devices = step(devices, (rng) => {
        const device = generateDevice(rng, ++seq, opts);
        used.add(hwidOf(device));
        return device;
      });
    },
    list(order: ListOrder): RawDevice[] {
      const copy = structuredClone(devices);
      return order === 'asc' ? copy : copy.reverse();
    },
    /** Serialized at once, so a mutation after the request cannot alter a page already cut. */
    page(order: ListOrder, offset: number, limit: number): string {
      if (order === 'asc') return JSON.stringify(devices.slice(offset, offset + limit));
      const end = Math.max(0, devices.length - offset);
      return JSON.stringify(devices.slice(Math.max(0, end - limit), end).reverse());
    },
    /** A scan, not an index: details requests are rate limited to a few a second anyway. */
    lookup(hwid: string): RawDevice | undefined {
      return devices.find((device) => hwidOf(device) === hwid) ?? hidden.get(hwid);
    },
    counts: () => countDevices(devices),
  };
  fleet.add(initial);
  return fleet;
}

/** n distinct indices below `size`, by a partial Fisher–Yates shuffle. */
function sampleIndices(rng: Rng, size: number, n: number): number[] {
  const idx = Array.from({ length: size }, (_, i) => i);
  const count = Math.min(Math.max(0, n), size);
  for (let i = 0; i < count; i++) {
    const j = i + Math.floor(rng() * (size - i));
    [idx[i], idx[j]] = [idx[j] ?? j, idx[i] ?? i];
  }
  return idx.slice(0, count);
}
