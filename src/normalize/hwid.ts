/**
 * A device's identity, read one way for everyone: the normalizer stores a device under this key,
 * and the pager counts a device as seen under the same key, so a record the normalizer rejects
 * is never "seen" and one it accepts is never keyless.
 */
import { describeType, isPlainObject, isStorableString, ownField } from './coerce.ts';

export const MAX_HWID_LENGTH = 256;

export type HwidResult = { ok: true; hwid: string } | { ok: false; reason: string };

/**
 * The identity is never altered beyond trimming: NUL or broken Unicode would have to be edited
 * away, and two different devices could then share one hwid, so such records are rejected.
 */
export function readHwid(record: Record<string, unknown>): HwidResult {
  const value = ownField(record, 'hwid');
  if (value === undefined || value === null) return { ok: false, reason: 'missing hwid' };
  let hwid: string;
  if (typeof value === 'string') hwid = value.trim();
  else if (typeof value === 'number' && Number.isFinite(value)) hwid = String(value);
  else if (typeof value === 'number') return { ok: false, reason: `hwid is not a finite number (${value})` };
  else return { ok: false, reason: `hwid is not a string (${describeType(value)})` };
  if (hwid === '') return { ok: false, reason: 'hwid is empty' };
  if (hwid.includes('\u0000')) return { ok: false, reason: 'hwid contains a NUL character' };
  if (!isStorableString(hwid)) return { ok: false, reason: 'hwid is not valid Unicode (lone surrogate)' };
  if (codePointsOver(hwid, MAX_HWID_LENGTH)) {
    return { ok: false, reason: `hwid longer than ${MAX_HWID_LENGTH} characters` };
  }
  return { ok: true, hwid };
}

/**
 * The hwid normalizeDevice would store `raw` under; undefined when it would reject the record for
 * its hwid, or because it is not an object. Never throws: a record that throws when read (a
 * getter, a revoked Proxy: never JSON) has no key, and normalizeDevice rejects it.
 */
export function hwidKey(raw: unknown): string | undefined {
  try {
    if (!isPlainObject(raw)) return undefined;
    const id = readHwid(raw);
    return id.ok ? id.hwid : undefined;
  } catch {
    return undefined;
  }
}

/** Counted in code points, as a person would; the pager calls this per record, so most skip the count. */
function codePointsOver(text: string, max: number): boolean {
  if (text.length <= max) return false;
  if (text.length > 2 * max) return true;
  let count = 0;
  for (const _ of text) if (++count > max) return true;
  return false;
}
