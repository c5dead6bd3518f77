/**
 * Pure coercions from untrusted JSON values to what PostgreSQL columns accept. Each returns null
 * for a value it cannot read with certainty: the typed column stores what we know, and the raw
 * JSON in `devices.raw` keeps the rest.
 */
import { isIPv4, isIPv6 } from 'node:net';

// Both are refused by PostgreSQL: text cannot hold NUL, jsonb rejects \u0000 and lone surrogates.
// The first test is the quick one; a string it matches may hold only valid pairs (an emoji).
const MAYBE_UNSTORABLE = /[\u0000\uD800-\uDFFF]/;
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const NUL = /\u0000/g;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Whether PostgreSQL text and jsonb hold `value` as it is (no NUL, no lone surrogate). */
export function isStorableString(value: string): boolean {
  return !MAYBE_UNSTORABLE.test(value) || !UNSTORABLE.test(value);
}

/** Removes NUL characters and replaces lone surrogates with U+FFFD (like `toWellFormed`). */
export function toStorableString(value: string): string {
  if (isStorableString(value)) return value;
  return value.replace(NUL, '').replace(LONE_SURROGATE, '\uFFFD');
}

/** Whether `value` is an object literal as JSON.parse makes them (not an array, null or class). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Reads an own property only, so a record can never pick up `constructor` or `toString`. */
export function ownField(record: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

/** A word for a value's JSON type, for rejection reasons. */
export function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

/**
 * Strings are kept exactly (surrounding whitespace included: it may be meaningful), except that
 * empty or whitespace-only strings mean "no value". Scalars become their text; structures have
 * no faithful text form, so they become null.
 */
export function toText(value: unknown): string | null {
  let text: string;
  if (typeof value === 'string') text = toStorableString(value);
  else if (typeof value === 'number') text = Number.isFinite(value) ? String(value) : '';
  else if (typeof value === 'boolean') text = String(value);
  else return null;
  return text.trim() === '' ? null : text;
}

// "3.0" is a whole number written by a float formatter; "1e3", "0x10" and "1.5" are not counts.
const INTEGER_TEXT = /^[+-]?\d+(?:\.0+)?$/;

export interface IntRange {
  min?: number;
  max?: number;
}

/** An integral number (or its decimal text) within [min, max], default the int32 range. */
export function toInt(value: unknown, range: IntRange = {}): number | null {
  const { min = -2_147_483_648, max = 2_147_483_647 } = range;
  let n: number;
  if (typeof value === 'number') n = value;
  else if (typeof value === 'string' && INTEGER_TEXT.test(value.trim())) n = Number(value.trim());
  else return null;
  if (!Number.isInteger(n) || n < min || n > max) return null;
  return n === 0 ? 0 : n; // -0 would otherwise hash differently from 0
}

export function toSmallInt(value: unknown): number | null {
  return toInt(value, { min: -32_768, max: 32_767 });
}

const TRUE_TEXT = new Set(['1', 'true', 'yes']);
const FALSE_TEXT = new Set(['0', 'false', 'no']);

/** The API's 1/0 flags and the usual spellings of yes/no; anything else is unknown (null). */
export function toBool(value: unknown): boolean | null {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'number') return value === 1 ? true : value === 0 ? false : null;
  if (typeof value !== 'string') return null;
  const word = value.trim().toLowerCase();
  if (TRUE_TEXT.has(word)) return true;
  if (FALSE_TEXT.has(word)) return false;
  return null;
}

const MIN_YEAR = 1990;
const MAX_YEAR = 2200;
const ISO_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?\s*(Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?$/i;
const RFC_1123 =
  /^(?:(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*,?\s+)?(\d{1,2})[\s-]+([a-z]{3})[\s-]+(\d{4})\s+(\d{2}):(\d{2})(?::(\d{2}))?\s*(GMT|UTC|UT|Z|[+-]\d{4})?$/i;
const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const EPOCH_TEXT = /^\d+(?:\.\d+)?$/;

/**
 * The API documents `last_seen` as GMT, so a time without a zone is read as UTC. Numbers are Unix
 * epochs: below 1e11 they can only be seconds (1e11 ms is 1973), above they are milliseconds.
 * Dates outside 1990..2200 are unset clocks or unit mix-ups, not facts: null.
 */
export function toTimestamp(value: unknown): Date | null {
  let ms: number | null = null;
  if (typeof value === 'number') ms = fromEpoch(value);
  else if (typeof value === 'string') {
    const text = value.trim();
    ms = EPOCH_TEXT.test(text) ? fromEpoch(Number(text)) : (parseIso(text) ?? parseRfc1123(text));
  }
  if (ms === null || !Number.isFinite(ms)) return null;
  const date = new Date(ms);
  const year = date.getUTCFullYear();
  return year >= MIN_YEAR && year <= MAX_YEAR ? date : null;
}

function fromEpoch(n: number): number | null {
  if (!Number.isFinite(n)) return null;
  return Math.abs(n) < 1e11 ? Math.round(n * 1000) : Math.round(n);
}

function parseIso(text: string): number | null {
  const m = ISO_TIME.exec(text);
  if (!m) return null;
  const [, y, mo, d, h = '0', mi = '0', s = '0', frac = '', zone = 'Z'] = m;
  const millis = Number(frac.slice(0, 3).padEnd(3, '0'));
  return utcMillis(Number(y), Number(mo), Number(d), [Number(h), Number(mi), Number(s), millis], zone);
}

function parseRfc1123(text: string): number | null {
  const m = RFC_1123.exec(text);
  if (!m) return null;
  const [, d, monthName = '', y, h, mi, s = '0', zone = 'GMT'] = m;
  const mo = MONTHS.indexOf(monthName.toLowerCase()) + 1;
  if (mo === 0) return null;
  return utcMillis(Number(y), mo, Number(d), [Number(h), Number(mi), Number(s), 0], zone);
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Validates every component (Date.UTC would silently roll 31 Feb over into March). */
function utcMillis(y: number, mo: number, d: number, time: number[], zone: string): number | null {
  const [h = 0, mi = 0, s = 0, ms = 0] = time;
  const lastDay = mo === 2 && isLeap(y) ? 29 : DAYS_IN_MONTH[mo - 1];
  // Date.UTC maps years 0..99 to 1900..1999, so far-off years are refused before it sees them.
  if (y < MIN_YEAR - 1 || y > MAX_YEAR + 1) return null;
  if (lastDay === undefined || d < 1 || d > lastDay || h > 23 || mi > 59 || s > 59) return null;
  const offset = zoneOffsetMinutes(zone);
  if (offset === null) return null;
  return Date.UTC(y, mo - 1, d, h, mi, s, ms) - offset * 60_000;
}

function isLeap(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

function zoneOffsetMinutes(zone: string): number | null {
  if (/^(z|utc|gmt|ut)$/i.test(zone)) return 0;
  const m = /^([+-])(\d{2}):?(\d{2})?$/.exec(zone);
  if (!m) return null;
  const hours = Number(m[2]);
  const minutes = Number(m[3] ?? '0');
  if (hours > 23 || minutes > 59) return null;
  return (m[1] === '-' ? -1 : 1) * (hours * 60 + minutes);
}

const MAC_FORMATS = [
  /^[0-9a-f]{2}(?::[0-9a-f]{2}){5}$/i,
  /^[0-9a-f]{2}(?:-[0-9a-f]{2}){5}$/i,
  /^[0-9a-f]{4}\.[0-9a-f]{4}\.[0-9a-f]{4}$/i,
  /^[0-9a-f]{12}$/i,
];

/** A 48-bit MAC in a common notation → `aa:bb:cc:dd:ee:ff` (PostgreSQL macaddr's own form). */
export function toMac(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const text = value.trim();
  if (!MAC_FORMATS.some((format) => format.test(text))) return null;
  const hex = text.replace(/[^0-9a-f]/gi, '').toLowerCase();
  return hex.match(/../g)?.join(':') ?? null;
}

export function toIPv4(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const text = value.trim();
  return isIPv4(text) ? text : null;
}

/**
 * A zone id (`%eth0`) only means something on the reporting host, and PostgreSQL inet refuses
 * it, so it is dropped. Lower case is what PostgreSQL prints back, which keeps hashes stable.
 */
export function toIPv6(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const text = value.trim();
  const zoneAt = text.indexOf('%');
  const address = (zoneAt === -1 ? text : text.slice(0, zoneAt)).toLowerCase();
  return isIPv6(address) ? address : null;
}

/** Real devices nest three levels; this only guards the call stack and PostgreSQL's jsonb parser. */
export const MAX_JSON_DEPTH = 100;

/**
 * `value` itself when jsonb would store it exactly as it is, else sanitizeJson's copy. Records
 * parsed from JSON nearly always qualify, and checking allocates nothing, where copying every
 * record of a sync allocated most of what the normalizer did.
 */
export function toStorableJson(value: unknown): unknown {
  return isStorableJson(value, 0) ? value : sanitizeJson(value);
}

/** Whether sanitizeJson would return a value with the same JSON text (and no -0, which it makes 0). */
function isStorableJson(value: unknown, depth: number): boolean {
  switch (typeof value) {
    case 'string':
      return isStorableString(value);
    case 'number':
      return Number.isFinite(value) && !Object.is(value, -0);
    case 'boolean':
      return true;
    case 'object':
      break;
    default:
      return false;
  }
  if (value === null) return true;
  if (depth >= MAX_JSON_DEPTH) return false;
  if (Array.isArray(value)) {
    for (const item of value) if (!isStorableJson(item, depth + 1)) return false;
    return true;
  }
  if (!isPlainObject(value)) return false;
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue;
    if (!isStorableString(key) || !isStorableJson(value[key], depth + 1)) return false;
  }
  // Symbol keys and non-enumerable properties would not be copied, but JSON.stringify skips them too.
  return true;
}

/**
 * A deep copy that jsonb will accept: strings and keys made storable, non-finite numbers and
 * non-JSON values (undefined, functions, class instances) turned into null, anything nested
 * deeper than MAX_JSON_DEPTH replaced by null. Unknown fields are kept.
 */
export function sanitizeJson(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return toStorableString(value);
  if (typeof value === 'number') return Number.isFinite(value) ? (value === 0 ? 0 : value) : null;
  if (typeof value === 'boolean' || value === null) return value;
  if (depth >= MAX_JSON_DEPTH) return null;
  if (Array.isArray(value)) return value.map((item) => sanitizeJson(item, depth + 1));
  if (!isPlainObject(value)) return null;
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    if (item === undefined || typeof item === 'function') continue; // as JSON.stringify does
    // defineProperty: a plain assignment of "__proto__" would change the copy's prototype.
    Object.defineProperty(out, toStorableString(key), {
      value: sanitizeJson(item, depth + 1),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}
