/**
 * Properties of normalizeDevice over generated input: arbitrary JSON and JavaScript values, and
 * records shaped like devices whose fields hold anything (NUL, lone surrogates, huge numbers,
 * nested garbage, unknown fields). Accepted rows are checked against the column types of the
 * Drizzle schema itself, so a column changed there is checked here without editing this file.
 */
import { getTableColumns } from 'drizzle-orm';
import type { PgTable } from 'drizzle-orm/pg-core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { deviceOs, devices, networkAdapters, rejectedRecords } from '../db/schema.ts';
import { MAX_JSON_DEPTH } from './coerce.ts';
import { hwidKey, MAX_HWID_LENGTH } from './hwid.ts';
import { normalizeDevice } from './normalizeDevice.ts';
import type { NormalizedDevice, NormalizeResult } from './rows.ts';

const NUM_RUNS = 250;

// ---- What PostgreSQL accepts, written independently of coerce.ts ----

/** text and jsonb strings: UTF-8 cannot encode a lone surrogate, and neither type holds NUL. */
function isStorableText(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit === 0 || (unit >= 0xdc00 && unit <= 0xdfff)) return false;
    if (unit >= 0xd800 && unit <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (!(next >= 0xdc00 && next <= 0xdfff)) return false;
      i++;
    }
  }
  return true;
}

const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;
const HEX_GROUP = /^[0-9a-f]{1,4}$/i;

/** RFC 4291 text (PostgreSQL's inet_net_pton): 8 groups, one `::` for one or more zero groups, a dotted tail. */
function isIPv6Text(text: string): boolean {
  const lastColon = text.lastIndexOf(':');
  if (lastColon === -1) return false;
  const tail = text.slice(lastColon + 1);
  const hex = tail.includes('.') ? (IPV4.test(tail) ? `${text.slice(0, lastColon + 1)}0:0` : null) : text;
  if (hex === null) return false;
  const halves = hex.split('::');
  const groups = (part: string | undefined) => (part ? part.split(':') : []);
  const [head, rest] = [groups(halves[0]), groups(halves[1])];
  if (halves.length > 2 || ![...head, ...rest].every((g) => HEX_GROUP.test(g))) return false;
  return halves.length === 1 ? head.length === 8 : head.length + rest.length <= 7;
}

/** The JSON text the driver sends must hold strings and keys jsonb accepts, within the depth guard. */
function isStorableJsonb(value: unknown): boolean {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch {
    return false;
  }
  return text !== undefined && isStorableTree(JSON.parse(text), 0);
}

function isStorableTree(value: unknown, depth: number): boolean {
  if (typeof value === 'string') return isStorableText(value);
  if (typeof value !== 'object' || value === null) return true;
  if (depth >= MAX_JSON_DEPTH) return false;
  if (Array.isArray(value)) return value.every((item) => isStorableTree(item, depth + 1));
  return Object.entries(value).every(([key, item]) => isStorableText(key) && isStorableTree(item, depth + 1));
}

const isIntIn = (value: unknown, min: number, max: number) =>
  typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;

const ACCEPTS: Record<string, (value: unknown) => boolean> = {
  text: (v) => typeof v === 'string' && isStorableText(v),
  smallint: (v) => isIntIn(v, -32_768, 32_767),
  integer: (v) => isIntIn(v, -2_147_483_648, 2_147_483_647),
  boolean: (v) => typeof v === 'boolean',
  // PostgreSQL's range starts at 4713 BC; JavaScript's reaches further back.
  'timestamp with time zone': (v) => v instanceof Date && Number.isFinite(v.getTime()) && v.getUTCFullYear() >= -4712,
  macaddr: (v) => typeof v === 'string' && /^[0-9a-f]{2}(?::[0-9a-f]{2}){5}$/i.test(v),
  inet: (v) => typeof v === 'string' && (IPV4.test(v) || isIPv6Text(v)),
  jsonb: isStorableJsonb,
};

const show = (value: unknown) => {
  try {
    return JSON.stringify(value)?.slice(0, 80) ?? String(value);
  } catch {
    return typeof value;
  }
};

/** Every field of `row` is a column of `table`, and its value is one the column accepts. */
function violations(table: PgTable, row: object): string[] {
  const columns = getTableColumns(table);
  const problems: string[] = [];
  for (const [key, value] of Object.entries(row)) {
    const column = columns[key];
    const type = column?.getSQLType() ?? '';
    const accepts = ACCEPTS[type];
    if (!column) problems.push(`${key}: no such column`);
    else if (value === null) {
      if (column.notNull) problems.push(`${key}: null in a NOT NULL column`);
    } else if (!accepts) problems.push(`${key}: no check for ${type}`);
    else if (!accepts(value)) problems.push(`${key}: ${type} refuses ${show(value)}`);
  }
  return problems;
}

function rowViolations({ device, os, adapters }: NormalizedDevice): string[] {
  const problems = [...violations(devices, device)];
  if (os) problems.push(...violations(deviceOs, os));
  for (const adapter of adapters) problems.push(...violations(networkAdapters, adapter));
  const { hwid } = device;
  if (hwid === '' || hwid !== hwid.trim() || [...hwid].length > MAX_HWID_LENGTH) problems.push(`hwid ${show(hwid)}`);
  if (os && os.hwid !== hwid) problems.push('os row of another hwid');
  if (adapters.some((a, i) => a.hwid !== hwid || (i > 0 && a.position <= (adapters[i - 1]?.position ?? -1)))) {
    problems.push('adapter keys (hwid, position) not unique');
  }
  if (typeof device.raw !== 'object' || Array.isArray(device.raw)) problems.push('raw is not an object');
  if (!/^[0-9a-f]{64}$/.test(device.contentHash)) problems.push('content hash is not a sha256');
  return problems;
}

// ---- Generators ----

const TRICKY_UNITS = [
  '\u0000',
  '\uD800',
  '\uDBFF',
  '\uDC00',
  '\uDFFF',
  '\u{1F600}',
  ' ',
  '\t',
  '\n',
  '\u00A0',
  '\uFEFF',
  '\u2028',
  '\uFFFE',
  'a',
  'F',
  'x',
  '0',
  '9',
  ':',
  '.',
  '-',
  '%',
  'e',
  '+',
  'T',
  'Z',
];
// fast-check's own 'binary' unit would do, but takes a second to build.
const codeUnit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));
const codePoint = fc.integer({ min: 0, max: 0x10ffff }).map((c) => String.fromCodePoint(c));
const hostileString = fc.oneof(
  fc.string({ unit: fc.constantFrom(...TRICKY_UNITS), maxLength: 16 }),
  fc.string({ unit: codeUnit, maxLength: 16 }),
  fc.string({ unit: codePoint, maxLength: 8 }),
  fc.string(),
);
const blank = fc.constantFrom('', ' ', '\t', ' \r\n');
const padded = (text: fc.Arbitrary<string>) => fc.tuple(blank, text, blank).map((parts) => parts.join(''));

/** In each notation toMac reads. */
const macText = fc
  .tuple(fc.uint8Array({ minLength: 6, maxLength: 6 }), fc.constantFrom(':', '-', '.', ''), fc.boolean())
  .map(([bytes, separator, upper]) => {
    const hex = [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
    const text = separator === '.' ? hex.match(/.{4}/g)!.join('.') : hex.match(/../g)!.join(separator);
    return upper ? text.toUpperCase() : text;
  });
const ipv6Text = fc.oneof(
  fc.ipV6(),
  fc.ipV6().map((a) => `${a.toUpperCase()}%eth0`),
);
const ipText = fc.oneof(fc.ipV4(), fc.ipV4Extended(), ipv6Text);
const timeValue = fc
  .tuple(fc.date({ min: new Date('1985-01-01T00:00:00Z'), max: new Date('2205-01-01T00:00:00Z'), noInvalidDate: true }), fc.nat({ max: 5 }))
  .map(
    ([date, form]) =>
      [
        date.toISOString(),
        date.toUTCString(),
        date.toISOString().replace('Z', '+05:30'),
        date.toISOString().slice(0, 19),
        date.getTime(),
        String(date.getTime() / 1000),
      ][form],
  );
const numericText = fc.oneof(
  fc.integer().map(String),
  fc.constantFrom('3.0', ' 2 ', '-0', '+7', '1e3', '0x10', '32768', '-32769', '2147483648', '1'.repeat(20), '1.5'),
);
const readable = fc.oneof(padded(macText), padded(ipText), timeValue, numericText, fc.constantFrom('yes', 'No', 'TRUE', '1', '0', ' 1 '));
const hugeNumber = fc.oneof(
  fc.double(),
  fc.integer(),
  fc.maxSafeInteger(),
  fc.constantFrom(
    32_767,
    32_768,
    -32_768,
    -32_769,
    2 ** 31 - 1,
    2 ** 31,
    -(2 ** 31),
    -(2 ** 31) - 1,
    1e11,
    1e11 - 1,
    1e21,
    -1e21,
    Number.MAX_VALUE,
    -Number.MAX_VALUE,
    Number.MIN_VALUE,
    Number.MAX_SAFE_INTEGER + 2,
    -0,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
  ),
);
const scalar = fc.oneof(hostileString, readable, hugeNumber, fc.boolean(), fc.constant(null));
/** Nested around the depth guard (MAX_JSON_DEPTH), in arrays or in objects. */
const deepGarbage = fc
  .tuple(fc.integer({ min: MAX_JSON_DEPTH - 5, max: MAX_JSON_DEPTH + 40 }), scalar, fc.boolean())
  .map(([depth, leaf, inObjects]) => {
    let value: unknown = leaf;
    for (let i = 0; i < depth; i++) value = inObjects ? { nested: value } : [value];
    return value;
  });
const jsValue = fc.anything({
  maxDepth: 2,
  withNullPrototype: true,
  withBigInt: true,
  withBoxedValues: true,
  withDate: true,
  withMap: true,
  withSet: true,
  withTypedArray: true,
  withSparseArray: true,
});
const jsonGarbage = fc.jsonValue({ maxDepth: 3 });
const jsonFieldValue = fc.oneof({ weight: 6, arbitrary: scalar }, { weight: 2, arbitrary: jsonGarbage }, deepGarbage);
const fieldValue = fc.oneof(
  { weight: 6, arbitrary: scalar },
  { weight: 2, arbitrary: jsonGarbage },
  deepGarbage,
  jsValue,
  fc.constant(undefined),
);

function deviceShaped(value: fc.Arbitrary<unknown>): fc.Arbitrary<Record<string, unknown>> {
  const some = <T>(model: { [K in keyof T]: fc.Arbitrary<T[K]> }) => fc.record(model, { requiredKeys: [] });
  const or = (arbitrary: fc.Arbitrary<unknown>) => fc.oneof({ weight: 3, arbitrary }, value);
  const adapter = or(
    some({
      mac_addr: or(padded(macText)),
      ipv4_addr: or(padded(fc.ipV4())),
      ipv6_addr: or(padded(ipv6Text)),
    }),
  );
  const usualHwid = fc.string({ unit: fc.constantFrom(...'ABCDEFGHJK0123456789-'), minLength: 1, maxLength: 24 });
  const hwid = fc.oneof(
    { weight: 5, arbitrary: padded(usualHwid) },
    hostileString,
    hugeNumber,
    fc.string({ minLength: MAX_HWID_LENGTH - 2, maxLength: MAX_HWID_LENGTH + 2 }),
    value,
  );
  const known = fc.record(
    {
      hwid,
      hostname: value,
      nickname: value,
      agent_type: value,
      agent_version: value,
      machine_type: value,
      country: value,
      active: value,
      status: value,
      critical_status: value,
      exempt: value,
      total_issue: value,
      total_critical_issue: value,
      last_seen: or(timeValue),
      remediation_link: value,
      user: value,
      user_info: or(some({ username: value, domain: value })),
      os_info: or(
        some({
          family: value,
          name: value,
          vendor: value,
          version: value,
          service_pack_version: value,
          architecture: value,
          os_language: value,
          user_password_set: value,
        }),
      ),
      network_info: or(fc.array(adapter, { maxLength: 5 })),
    },
    { requiredKeys: ['hwid'] },
  );
  // Spread defines own properties, so an extra "__proto__" key stays a field, as JSON.parse makes it.
  return fc.tuple(fc.dictionary(hostileString, value, { maxKeys: 3 }), known).map(([extra, fields]) => ({ ...extra, ...fields }));
}

/** As the API sends it: parsed from JSON text. */
const jsonDevice = deviceShaped(jsonFieldValue).map((record) => JSON.parse(JSON.stringify(record)) as object);
const anyInput = fc.oneof(
  { weight: 3, arbitrary: jsonDevice },
  { weight: 3, arbitrary: deviceShaped(fieldValue) },
  fc.jsonValue(),
  jsValue,
);
/**
 * Never JSON, but normalizeDevice promises never to throw. Each says what it is through
 * fc.toStringMethod: fast-check would otherwise read the throwing field to print a counterexample.
 */
const labelled = <T extends object>(value: T, label: string): T => Object.defineProperty(value, fc.toStringMethod, { value: () => label });
const throwsWhenRead = fc.oneof(
  fc
    .tuple(
      jsonDevice,
      fc.constantFrom('hwid', 'hostname', 'status', 'os_info', 'network_info', 'unknown_field'),
      fc.oneof(
        hostileString.map((message) => new Error(message)),
        fc.constant(Object.create(null) as unknown),
        jsValue,
      ),
    )
    .map(([record, key, thrown]) =>
      labelled(
        Object.defineProperty({ ...record }, key, {
          enumerable: true,
          get: () => {
            throw thrown;
          },
        }),
        `${fc.stringify(record)} whose ${key} throws ${fc.stringify(thrown)}`,
      ),
    ),
  fc.constant(undefined).map(() =>
    labelled(
      new Proxy(
        { hwid: 'dev-1' },
        {
          getPrototypeOf: () => {
            throw new Error('no prototype');
          },
        },
      ),
      'a Proxy whose prototype cannot be read',
    ),
  ),
);

const check = <Ts extends [unknown, ...unknown[]]>(property: fc.IProperty<Ts>) => fc.assert(property, { numRuns: NUM_RUNS });

// ---- Properties ----

describe('normalizeDevice properties', () => {
  it('never throws, whatever it is given', () => {
    check(
      fc.property(fc.oneof(anyInput, throwsWhenRead), (raw) => {
        expect(() => normalizeDevice(raw)).not.toThrow();
      }),
    );
  });

  it('is deterministic: the same record, again or copied, gives deep-equal rows and the same content hash', () => {
    check(
      fc.property(anyInput, (raw) => {
        const first = normalizeDevice(raw);
        const again = normalizeDevice(raw);
        const copied = normalizeDevice(structuredClone(raw));
        expect(again).toStrictEqual(first);
        expect(copied).toEqual(first);
        const hash = (result: NormalizeResult) => (result.ok ? result.value.device.contentHash : undefined);
        expect([hash(again), hash(copied)]).toEqual([hash(first), hash(first)]);
      }),
    );
  });

  it('gives every accepted record rows that the tables of db/schema.ts accept', () => {
    const filled = new Set<string>();
    let accepted = 0;
    check(
      fc.property(anyInput, (raw) => {
        const result = normalizeDevice(raw);
        if (!result.ok) return;
        accepted++;
        expect(rowViolations(result.value)).toEqual([]);
        const { device, os, adapters } = result.value;
        for (const row of [device, os ?? {}, ...adapters]) {
          for (const [key, value] of Object.entries(row)) if (value !== null) filled.add(key);
        }
      }),
    );
    // Otherwise the generators would only ever test rejections, or nulls.
    expect(accepted).toBeGreaterThan(NUM_RUNS / 5);
    const typed = ['status', 'totalIssue', 'active', 'lastSeen', 'hostname', 'userPasswordSet', 'macAddr', 'ipv4Addr'];
    expect([...typed, 'ipv6Addr'].filter((key) => !filled.has(key))).toEqual([]);
  });

  it('gives every rejected record a reason and a raw that rejected_records can store', () => {
    check(
      fc.property(fc.oneof(anyInput, throwsWhenRead), (raw) => {
        const result = normalizeDevice(raw);
        if (result.ok) return;
        expect(result.reason.trim()).not.toBe('');
        expect(violations(rejectedRecords, { reason: result.reason, raw: result.raw })).toEqual([]);
      }),
    );
  });

  it('keeps raw as received when jsonb can store it unchanged', () => {
    check(
      fc.property(jsonDevice, (raw) => {
        const result = normalizeDevice(raw);
        if (result.ok && isStorableJsonb(raw)) expect(result.value.device.raw).toBe(raw);
      }),
    );
  });

  it('hashes the same whatever the key order and last_seen', () => {
    const reordered = (value: unknown): unknown => {
      if (Array.isArray(value)) return value.map(reordered);
      if (typeof value !== 'object' || value === null) return value;
      return Object.fromEntries(
        Object.entries(value)
          .reverse()
          .map(([key, item]) => [key, reordered(item)]),
      );
    };
    check(
      fc.property(jsonDevice, timeValue, (raw, lastSeen) => {
        const result = normalizeDevice(raw);
        const other = normalizeDevice({ ...(reordered(raw) as object), last_seen: lastSeen });
        expect(other.ok).toBe(result.ok);
        if (result.ok && other.ok) expect(other.value.device.contentHash).toBe(result.value.device.contentHash);
      }),
    );
  });

  it('keeps adapter positions within smallint however long network_info is', () => {
    // Adapters among nulls, around the last position a smallint holds (32,767).
    const last = 32_767;
    const tooManyAdapters = fc
      .tuple(fc.integer({ min: last - 4, max: last + 6 }), fc.uniqueArray(fc.integer({ min: last - 8, max: last + 6 }), { maxLength: 4 }))
      .map(([length, at]) => {
        const positions = [0, last, last + 1, ...at].filter((i) => i < length);
        const list = Array.from({ length }, (_, i) => (positions.includes(i) ? { mac_addr: '00005e005301' } : null));
        return labelled(list, `${length} entries, adapters at ${positions.join(', ')}`);
      });
    fc.assert(
      fc.property(tooManyAdapters, (networkInfo) => {
        const result = normalizeDevice({ hwid: 'dev-1', network_info: networkInfo });
        expect(result.ok && rowViolations(result.value)).toEqual([]);
      }),
      { numRuns: 20 },
    );
  });

  it('is stored under hwidKey(raw), and rejected exactly when hwidKey(raw) is undefined', () => {
    check(
      fc.property(anyInput, (raw) => {
        const result = normalizeDevice(raw);
        expect(hwidKey(raw)).toBe(result.ok ? result.value.device.hwid : undefined);
      }),
    );
  });
});
