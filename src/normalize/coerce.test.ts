import { describe, expect, it } from 'vitest';
import {
  isStorableString,
  MAX_JSON_DEPTH,
  sanitizeJson,
  toBool,
  toInt,
  toIPv4,
  toIPv6,
  toMac,
  toSmallInt,
  toStorableString,
  toText,
  toTimestamp,
} from './coerce.ts';

describe('toStorableString', () => {
  it('removes NUL characters and replaces lone surrogates, keeping valid pairs', () => {
    expect(toStorableString('a\u0000b\u0000')).toBe('ab');
    expect(toStorableString('x\ud800y')).toBe('x\uFFFDy');
    expect(toStorableString('\udc00')).toBe('\uFFFD');
    expect(toStorableString('emoji 😀 ok')).toBe('emoji 😀 ok');
  });
});

describe('isStorableString', () => {
  it.each([
    ['plain text', 'host-1', true],
    ['a surrogate pair', 'a\u{1F600}b', true],
    ['a NUL character', 'a\u0000', false],
    ['a lone high surrogate', 'a\ud800b', false],
    ['a lone low surrogate at the start', '\udc00a', false],
    ['a reversed pair', '\ude00\ud83d', false],
  ])('%s → %s', (_label, text, storable) => {
    expect(isStorableString(text)).toBe(storable);
  });
});

describe('toText', () => {
  it.each([
    ['Windows', 'Windows'],
    ['  padded  ', '  padded  '],
    ['', null],
    ['  \t\n', null],
    ['\u0000', null],
    ['ho\u0000st', 'host'],
    [42, '42'],
    [1.5, '1.5'],
    [true, 'true'],
    [false, 'false'],
    [null, null],
    [undefined, null],
    [{ a: 1 }, null],
    [['a'], null],
    [Number.NaN, null],
  ])('%j → %j', (input, expected) => {
    expect(toText(input)).toBe(expected);
  });
});

describe('toInt and toSmallInt', () => {
  it.each([
    [1, 1],
    ['1', 1],
    [' 2 ', 2],
    ['3.0', 3],
    ['-7', -7],
    ['+4', 4],
    [-0, 0],
    ['', null],
    [null, null],
    ['abc', null],
    ['1e3', null],
    ['0x10', null],
    ['1.5', null],
    [1.5, null],
    [Number.NaN, null],
    [Number.POSITIVE_INFINITY, null],
    [true, null],
    [[1], null],
    [2_147_483_647, 2_147_483_647],
    [2_147_483_648, null],
    ['99999999999999999999', null],
  ])('toInt(%j) → %j', (input, expected) => {
    expect(toInt(input)).toBe(expected);
  });

  it('keeps smallint columns in range', () => {
    expect(toSmallInt(32_767)).toBe(32_767);
    expect(toSmallInt(-32_768)).toBe(-32_768);
    expect(toSmallInt(32_768)).toBeNull();
    expect(toSmallInt('70000')).toBeNull();
  });

  it('honours a minimum', () => {
    expect(toInt(-1, { min: 0 })).toBeNull();
    expect(toInt('0', { min: 0 })).toBe(0);
  });
});

describe('toBool', () => {
  it.each([
    [1, true],
    [0, false],
    ['1', true],
    ['0', false],
    [' 1 ', true],
    [true, true],
    [false, false],
    ['TRUE', true],
    ['False', false],
    ['yes', true],
    ['NO', false],
    [2, null],
    [-1, null],
    ['', null],
    ['maybe', null],
    [null, null],
    ['1.0', null],
    [{}, null],
  ])('%j → %j', (input, expected) => {
    expect(toBool(input)).toBe(expected);
  });
});

describe('toTimestamp', () => {
  const at0800 = '2013-12-04T08:00:00.000Z';
  it.each([
    ['2013-12-04T08:00:00Z', at0800],
    ['2013-12-04T08:00:00z', at0800],
    ['2013-12-04T10:00:00+02:00', at0800],
    ['2013-12-04T03:00:00-0500', at0800],
    ['2013-12-04T08:00:00', at0800],
    ['2013-12-04 08:00:00', at0800],
    ['2013-12-04 08:00:00 GMT', at0800],
    ['2013-12-04T08:00', at0800],
    ['2013-12-04T08:00:00.123456Z', '2013-12-04T08:00:00.123Z'],
    ['2013-12-04', '2013-12-04T00:00:00.000Z'],
    ['Wed, 04 Dec 2013 08:00:00 GMT', at0800],
    ['04 Dec 2013 08:00:00 GMT', at0800],
    ['Wed, 04 Dec 2013 09:00:00 +0100', at0800],
    [1386144000, at0800],
    [1386144000000, at0800],
    ['1386144000', at0800],
    ['2024-02-29T00:00:00Z', '2024-02-29T00:00:00.000Z'],
  ])('%j → %s', (input, expected) => {
    expect(toTimestamp(input)?.toISOString()).toBe(expected);
  });

  it.each([
    'yesterday',
    '',
    '2013-13-01T00:00:00Z',
    '2013-02-30T00:00:00Z',
    '2023-02-29T00:00:00Z',
    '2013-12-04T24:00:00Z',
    '2013-12-04T08:00:60Z',
    '2013-12-04T08:00:00+25:00',
    '0095-01-01T00:00:00Z',
    '1989-12-31T23:59:59Z',
    '2201-01-01T00:00:00Z',
    'Wed, 04 Foo 2013 08:00:00 GMT',
    0,
    -1,
    1e300,
    Number.NaN,
    null,
    true,
    {},
    ['2013-12-04T08:00:00Z'],
  ])('%j → null', (input) => {
    expect(toTimestamp(input)).toBeNull();
  });

  it('accepts the edges of 1990..2200', () => {
    expect(toTimestamp('1990-01-01T00:00:00Z')?.toISOString()).toBe('1990-01-01T00:00:00.000Z');
    expect(toTimestamp('2200-12-31T23:59:59Z')?.toISOString()).toBe('2200-12-31T23:59:59.000Z');
  });
});

describe('toMac', () => {
  it.each([
    ['00:0c:29:f2:7a:29', '00:0c:29:f2:7a:29'],
    ['00:0C:29:0A:83:0C', '00:0c:29:0a:83:0c'],
    ['AA-BB-CC-DD-EE-FF', 'aa:bb:cc:dd:ee:ff'],
    ['aabb.ccdd.eeff', 'aa:bb:cc:dd:ee:ff'],
    ['AaBbCcDdEeFf', 'aa:bb:cc:dd:ee:ff'],
    [' 00:0c:29:f2:7a:29 ', '00:0c:29:f2:7a:29'],
    ['', null],
    ['00:0c:29:f2:7a', null],
    ['00:0c-29:f2:7a:29', null],
    ['gg:0c:29:f2:7a:29', null],
    ['00:0c:29:f2:7a:29:01:02', null],
    [123456789012, null],
    [null, null],
  ])('%j → %j', (input, expected) => {
    expect(toMac(input)).toBe(expected);
  });
});

describe('toIPv4 and toIPv6', () => {
  it.each([
    ['10.0.50.106', '10.0.50.106'],
    [' 10.0.0.5 ', '10.0.0.5'],
    ['', null],
    ['300.1.1.1', null],
    ['010.0.0.1', null],
    ['10.0.0.1/24', null],
    ['fe80::1', null],
    [167772161, null],
  ])('toIPv4(%j) → %j', (input, expected) => {
    expect(toIPv4(input)).toBe(expected);
  });

  it.each([
    ['fe80::3c64:7e44:4e78:677', 'fe80::3c64:7e44:4e78:677'],
    ['FE80::1', 'fe80::1'],
    ['fe80::1%eth0', 'fe80::1'],
    ['fe80::1%', 'fe80::1'],
    ['::ffff:10.0.0.1', '::ffff:10.0.0.1'],
    ['', null],
    ['10.0.0.9', null],
    ['not-an-ip', null],
    ['%eth0', null],
    [null, null],
  ])('toIPv6(%j) → %j', (input, expected) => {
    expect(toIPv6(input)).toBe(expected);
  });
});

describe('sanitizeJson', () => {
  it('copies deeply, cleaning strings and keys, keeping unknown fields', () => {
    const input = { 'k\u0000ey': ['a\u0000', { n: 1, s: '\ud800' }], keep: { x: true, y: null } };
    const out = sanitizeJson(input);
    expect(out).toEqual({ key: ['a', { n: 1, s: '\uFFFD' }], keep: { x: true, y: null } });
    expect(out).not.toBe(input);
  });

  it('turns non-JSON values into null or drops them as JSON.stringify would', () => {
    expect(sanitizeJson({ a: undefined, b: () => 1, c: Number.NaN, d: new Date(0) })).toEqual({ c: null, d: null });
    expect(sanitizeJson([undefined, Number.POSITIVE_INFINITY])).toEqual([null, null]);
  });

  it('keeps a "__proto__" key as data without touching the prototype', () => {
    const out = sanitizeJson(JSON.parse('{"__proto__": {"polluted": true}}')) as Record<string, unknown>;
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(JSON.stringify(out)).toBe('{"__proto__":{"polluted":true}}');
  });

  it('cuts nesting deeper than the limit instead of overflowing the stack', () => {
    const deep = JSON.parse('['.repeat(50_000) + ']'.repeat(50_000)) as unknown;
    const out = sanitizeJson(deep);
    let depth = 0;
    for (let node: unknown = out; Array.isArray(node); node = node[0]) depth++;
    expect(depth).toBe(MAX_JSON_DEPTH);
  });
});
