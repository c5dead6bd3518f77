/**
 * One raw MetaAccess device (untrusted JSON) → typed rows, or a rejection with a reason a person
 * can act on. Pure: no I/O, never throws.
 */
import { createHash } from 'node:crypto';
import {
  describeType,
  isPlainObject,
  ownField,
  sanitizeJson,
  toBool,
  toInt,
  toIPv4,
  toIPv6,
  toMac,
  toSmallInt,
  toStorableJson,
  toStorableString,
  toText,
  toTimestamp,
} from './coerce.ts';
import { readHwid } from './hwid.ts';
import type { DeviceOsRow, DeviceRow, NetworkAdapterRow, NormalizeResult } from './rows.ts';

/** `network_adapters.position` is a smallint; no real device comes near this many adapters. */
const MAX_ADAPTERS = 32_768;

/** A device row before its hash, which also covers the OS and adapter rows. */
export type DeviceFields = Omit<DeviceRow, 'contentHash'>;

export function normalizeDevice(raw: unknown): NormalizeResult {
  try {
    if (!isPlainObject(raw)) return reject(`record is not an object (${describeType(raw)})`, raw);
    const id = readHwid(raw);
    if (!id.ok) return reject(id.reason, raw);
    const fields = toDeviceRow(raw, id.hwid);
    const os = toDeviceOsRow(ownField(raw, 'os_info'), id.hwid);
    const adapters = toNetworkAdapterRows(ownField(raw, 'network_info'), id.hwid);
    // The row gains its hash in place: a copy per device would only feed the garbage collector.
    const device = fields as DeviceRow;
    device.contentHash = contentHash(fields, os, adapters);
    return { ok: true, value: { device, os, adapters } };
  } catch (error) {
    // Unreachable for JSON input; a getter or Proxy from a non-JSON caller must not sink a run.
    return reject(`record could not be normalized: ${describeError(error)}`, raw);
  }
}

/** The reason is stored as text, and whatever was thrown may itself throw when made a string. */
function describeError(error: unknown): string {
  try {
    return toStorableString(error instanceof Error ? String(error.message) : String(error));
  } catch {
    return 'unreadable error';
  }
}

function reject(reason: string, raw: unknown): NormalizeResult {
  let storable: unknown = null;
  try {
    storable = sanitizeJson(raw);
  } catch {
    // Keep the reason even when the record itself cannot be copied.
  }
  return { ok: false, reason, raw: storable };
}

/** Counts of issues cannot be negative: a negative one is a sentinel or a bug, not a count. */
function toCount(value: unknown): number | null {
  return toInt(value, { min: 0 });
}

function toDeviceRow(record: Record<string, unknown>, hwid: string): DeviceFields {
  const field = (key: string) => ownField(record, key);
  const userInfo = field('user_info');
  const user = isPlainObject(userInfo) ? userInfo : {};
  return {
    hwid,
    hostname: toText(field('hostname')),
    nickname: toText(field('nickname')),
    agentType: toText(field('agent_type')),
    agentVersion: toText(field('agent_version')),
    machineType: toText(field('machine_type')),
    country: toText(field('country')),
    active: toBool(field('active')),
    status: toSmallInt(field('status')),
    criticalStatus: toSmallInt(field('critical_status')),
    exempt: toBool(field('exempt')),
    totalIssue: toCount(field('total_issue')),
    totalCriticalIssue: toCount(field('total_critical_issue')),
    lastSeen: toTimestamp(field('last_seen')),
    remediationLink: toText(field('remediation_link')),
    userGroup: toText(field('user')),
    loggedInUsername: toText(ownField(user, 'username')),
    loggedInDomain: toText(ownField(user, 'domain')),
    raw: toStorableJson(record) as Record<string, unknown>,
  };
}

/** No row when nothing usable was reported: "no OS info" must stay distinguishable in SQL. */
function toDeviceOsRow(osInfo: unknown, hwid: string): DeviceOsRow | null {
  if (!isPlainObject(osInfo)) return null;
  const field = (key: string) => ownField(osInfo, key);
  const values = {
    family: toText(field('family')),
    name: toText(field('name')),
    vendor: toText(field('vendor')),
    version: toText(field('version')),
    servicePackVersion: toText(field('service_pack_version')),
    architecture: toText(field('architecture')),
    osLanguage: toText(field('os_language')),
    userPasswordSet: toBool(field('user_password_set')),
  };
  if (Object.values(values).every((value) => value === null)) return null;
  return { hwid, ...values };
}

/**
 * `position` is the index in the array as received, so it stays stable when an entry in between
 * is junk (skipped). A lone object is read as a one-entry list: it is still one adapter.
 */
function toNetworkAdapterRows(networkInfo: unknown, hwid: string): NetworkAdapterRow[] {
  const entries = Array.isArray(networkInfo) ? networkInfo : isPlainObject(networkInfo) ? [networkInfo] : [];
  const rows: NetworkAdapterRow[] = [];
  const count = Math.min(entries.length, MAX_ADAPTERS);
  for (let position = 0; position < count; position++) {
    const entry: unknown = entries[position];
    if (!isPlainObject(entry)) continue;
    rows.push({
      hwid,
      position,
      macAddr: toMac(ownField(entry, 'mac_addr')),
      ipv4Addr: toIPv4(ownField(entry, 'ipv4_addr')),
      ipv6Addr: toIPv6(ownField(entry, 'ipv6_addr')),
    });
  }
  return rows;
}

const UNHASHED_FIELDS = new Set(['lastSeen', 'raw', 'contentHash']);

/**
 * Equal hashes mean "nothing a user can query changed". `lastSeen` moves on every check-in and
 * `raw` carries fields we do not type, so neither counts; key order never matters. The hashed
 * text is the JSON of { adapters, device, os } with every object's keys sorted and the unhashed
 * fields left out (it must never change: see the pinned-hash test). JSON.stringify writes it: given a list of keys, it
 * writes only those, in the list's order, at every level, and rows hold only scalar values.
 */
export function contentHash(device: DeviceFields, os: DeviceOsRow | null, adapters: NetworkAdapterRow[]): string {
  learnKeys(device);
  if (os) learnKeys(os);
  for (const adapter of adapters) learnKeys(adapter);
  return createHash('sha256').update(JSON.stringify({ adapters, device, os }, hashedKeys)).digest('hex');
}

/** Every key the hashed rows have had, sorted; the wrapper's own three keys are among them. */
const knownKeys = new Set(['adapters', 'device', 'os']);
let hashedKeys = [...knownKeys].sort();

/** Rows of one kind always have the same keys, so after the first device this only checks. */
function learnKeys(row: object): void {
  for (const key in row) {
    if (knownKeys.has(key) || UNHASHED_FIELDS.has(key)) continue;
    knownKeys.add(key);
    hashedKeys = [...knownKeys].sort();
  }
}
