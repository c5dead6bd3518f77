import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hwidKey, MAX_HWID_LENGTH, readHwid } from './hwid.ts';
import { normalizeDevice } from './normalizeDevice.ts';

const fixture = (name: string) => JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8')) as unknown[];

/** What the normalizer stores the record under, or undefined when it rejects it. */
function storedUnder(raw: unknown): string | undefined {
  const result = normalizeDevice(raw);
  return result.ok ? result.value.device.hwid : undefined;
}

const EMOJI = '\u{1F600}';

describe('readHwid', () => {
  it.each([
    ['no hwid', {}, 'missing hwid'],
    ['a null hwid', { hwid: null }, 'missing hwid'],
    ['an undefined hwid', { hwid: undefined }, 'missing hwid'],
    ['a blank hwid', { hwid: ' \t ' }, 'hwid is empty'],
    ['NaN', { hwid: Number.NaN }, 'hwid is not a finite number (NaN)'],
    ['Infinity', { hwid: Number.POSITIVE_INFINITY }, 'hwid is not a finite number (Infinity)'],
    ['a boolean', { hwid: true }, 'hwid is not a string (boolean)'],
    ['an array', { hwid: ['a'] }, 'hwid is not a string (array)'],
    ['an object', { hwid: { id: 'a' } }, 'hwid is not a string (object)'],
    ['a NUL character', { hwid: 'a\u0000b' }, 'hwid contains a NUL character'],
    ['a lone high surrogate', { hwid: 'a\ud800' }, 'hwid is not valid Unicode (lone surrogate)'],
    ['a lone low surrogate', { hwid: '\udc00a' }, 'hwid is not valid Unicode (lone surrogate)'],
    ['257 characters', { hwid: 'x'.repeat(MAX_HWID_LENGTH + 1) }, 'hwid longer than 256 characters'],
    ['257 emoji', { hwid: EMOJI.repeat(MAX_HWID_LENGTH + 1) }, 'hwid longer than 256 characters'],
  ])('refuses %s: %s', (_label, record, reason) => {
    expect(readHwid(record)).toEqual({ ok: false, reason });
  });

  it.each([
    ['a padded string, trimmed', { hwid: '  dev-1\t' }, 'dev-1'],
    ['a number as its text', { hwid: 42 }, '42'],
    ['-0 as "0"', { hwid: -0 }, '0'],
    ['a huge number as its text', { hwid: 1e21 }, '1e+21'],
    ['a surrogate pair', { hwid: `a${EMOJI}` }, `a${EMOJI}`],
    ['exactly 256 characters', { hwid: 'x'.repeat(MAX_HWID_LENGTH) }, 'x'.repeat(MAX_HWID_LENGTH)],
    // 512 UTF-16 code units, 256 characters: the limit counts characters.
    ['256 padded emoji', { hwid: ` ${EMOJI.repeat(MAX_HWID_LENGTH)} ` }, EMOJI.repeat(MAX_HWID_LENGTH)],
  ])('reads %s', (_label, record, hwid) => {
    expect(readHwid(record)).toEqual({ ok: true, hwid });
  });
});

describe('hwidKey', () => {
  it('is undefined for anything but a plain object', () => {
    class Device {
      hwid = 'dev-1';
    }
    for (const raw of [null, undefined, 'dev-1', 42, true, [{ hwid: 'dev-1' }], new Device(), new Date(0)]) {
      expect(hwidKey(raw)).toBeUndefined();
      expect(normalizeDevice(raw).ok).toBe(false);
    }
  });

  it('agrees with the normalizer where the pager key used to differ (NUL, lone surrogates, length, inheritance)', () => {
    const cases: unknown[] = [
      { hwid: 'a\u0000b' },
      { hwid: '\u0000' },
      { hwid: 'a\ud800' },
      { hwid: ' \udfff ' },
      { hwid: 'x'.repeat(MAX_HWID_LENGTH + 1) },
      { hwid: EMOJI.repeat(MAX_HWID_LENGTH) },
      Object.create({ hwid: 'inherited' }),
      Object.assign(Object.create(null), { hwid: 'null-prototype' }),
      { hwid: Number.POSITIVE_INFINITY },
      { hwid: ' 7 ' },
      { hwid: 7 },
    ];
    expect(cases.map(hwidKey)).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
      EMOJI.repeat(MAX_HWID_LENGTH),
      undefined,
      'null-prototype',
      undefined,
      '7',
      '7',
    ]);
    for (const raw of cases) expect(hwidKey(raw)).toBe(storedUnder(raw));
  });

  it('never throws: a record whose hwid cannot be read has no key', () => {
    const throwing = Object.defineProperty({}, 'hwid', {
      enumerable: true,
      get: () => {
        throw new Error('boom');
      },
    });
    const { proxy, revoke } = Proxy.revocable({ hwid: 'dev-1' }, {});
    revoke();
    for (const raw of [throwing, proxy]) {
      expect(hwidKey(raw)).toBeUndefined();
      expect(normalizeDevice(raw).ok).toBe(false);
    }
  });

  it('is the hwid the normalizer stores for every fixture record, and undefined for each it rejects', () => {
    const records = [...fixture('vendor-example-page.json'), ...fixture('vendor-mobile-page.json'), ...fixture('hostile-page.json')];
    const keys = records.map(hwidKey);
    expect(keys).toEqual(records.map(storedUnder));
    expect(keys.filter((key) => key === undefined)).toHaveLength(12);
  });

  it('is the hwid the normalizer stores, or undefined exactly when it rejects the hwid (generated records)', () => {
    const units = fc.constantFrom('a', 'Z', '0', '-', ' ', '\t', '\n', '\u00A0', '\uFEFF', '\u0000', '\uD800', '\uDC00', EMOJI);
    // n characters, of which the first k are emoji (two UTF-16 code units each), maybe padded.
    const nearLimit = fc
      .tuple(fc.constantFrom('', ' ', '\t'), fc.integer({ min: MAX_HWID_LENGTH - 3, max: MAX_HWID_LENGTH + 3 }), fc.nat())
      .map(([pad, n, k]) => `${pad}${EMOJI.repeat(k % (n + 1))}${'x'.repeat(n - (k % (n + 1)))}${pad}`);
    const hwid = fc.oneof(
      fc.string({ unit: units, maxLength: 8 }),
      // Any UTF-16 code unit, lone surrogates included (fast-check's 'binary' unit costs a second to build).
      fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), maxLength: 12 }),
      nearLimit,
      fc.double(),
      fc.integer(),
      fc.constantFrom(null, undefined, true, -0, 1e21, Number.MAX_VALUE),
      fc.jsonValue({ maxDepth: 2 }),
    );
    const record = fc.oneof(
      { weight: 4, arbitrary: fc.record({ hwid, hostname: fc.string() }, { requiredKeys: ['hwid'] }) },
      fc.jsonValue({ maxDepth: 3 }),
      fc.anything({ maxDepth: 2, withNullPrototype: true, withBoxedValues: true, withDate: true }),
    );
    fc.assert(
      fc.property(record, (raw) => {
        const result = normalizeDevice(raw);
        if (!result.ok) expect(result.reason).toMatch(/hwid|not an object/);
        expect(hwidKey(raw)).toBe(result.ok ? result.value.device.hwid : undefined);
      }),
      { numRuns: 500 },
    );
  });
});
