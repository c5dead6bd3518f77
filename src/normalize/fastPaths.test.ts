/**
 * The normalizer's fast paths must give exactly what the plain versions gave: the content hash
 * is compared with stored hashes (a different text would mark every device changed once), and
 * the raw JSON is what `devices.raw` keeps.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createFleet } from '../simulator/fleet.ts';
import { isPlainObject, sanitizeJson, toStorableJson } from './coerce.ts';
import { normalizeDevice } from './normalizeDevice.ts';

const fixture = (name: string) => JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8')) as unknown[];

/** The hash as first released: a filtered copy of the device, then generic canonical JSON. */
function referenceCanonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(referenceCanonical).join(',')}]`;
  if (isPlainObject(value)) {
    return `{${Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${referenceCanonical(value[key])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

function referenceHash(device: Record<string, unknown>, os: unknown, adapters: unknown): string {
  const typed = Object.fromEntries(Object.entries(device).filter(([key]) => !['lastSeen', 'raw', 'contentHash'].includes(key)));
  return createHash('sha256')
    .update(referenceCanonical({ device: typed, os, adapters }))
    .digest('hex');
}

const records = [
  ...createFleet({ seed: 11, devices: 1500, mobileShare: 0.3 }).list('asc'),
  ...fixture('vendor-example-page.json'),
  ...fixture('vendor-mobile-page.json'),
  ...fixture('hostile-page.json'),
];

describe('content hash', () => {
  it('is the released hash for simulator devices and every fixture', () => {
    let compared = 0;
    for (const record of JSON.parse(JSON.stringify(records)) as unknown[]) {
      const result = normalizeDevice(record);
      if (!result.ok) continue;
      const { device, os, adapters } = result.value;
      expect(device.contentHash).toBe(referenceHash(device as unknown as Record<string, unknown>, os, adapters));
      compared++;
    }
    expect(compared).toBeGreaterThan(1500);
  });
});

describe('toStorableJson', () => {
  it('returns a clean record itself; any record gets the JSON text a sanitized copy would have', () => {
    let clean = 0;
    for (const record of JSON.parse(JSON.stringify(records)) as unknown[]) {
      const out = toStorableJson(record);
      expect(JSON.stringify(out)).toBe(JSON.stringify(sanitizeJson(record)));
      if (out === record) clean++;
    }
    // Only the hostile fixtures hold NUL characters or lone surrogates.
    expect(clean).toBeGreaterThanOrEqual(records.length - fixture('hostile-page.json').length);
  });

  it('returns a record holding emoji itself: a valid surrogate pair needs no copy (found by a property test)', () => {
    for (const record of [
      { '\u{10000}': null, hwid: '!' },
      { hwid: 'dev-1', hostname: "Thang's \u{1F4F1}", tags: ['\u{1F600}'] },
    ]) {
      expect(toStorableJson(record)).toBe(record);
    }
  });

  it('copies whatever jsonb would refuse or JSON.stringify would change', () => {
    const dirty: unknown[] = [
      { a: 'nul\u0000' },
      { 'k\u0000': 1 },
      { a: ['\ud800'] },
      { a: Number.NaN },
      { a: -0 },
      { a: undefined },
      { a: () => 1 },
      { a: new Date(0) },
      [undefined],
      JSON.parse('['.repeat(200) + ']'.repeat(200)),
    ];
    for (const value of dirty) {
      const out = toStorableJson(value);
      expect(out).not.toBe(value);
      expect(out).toEqual(sanitizeJson(value));
    }
  });
});
