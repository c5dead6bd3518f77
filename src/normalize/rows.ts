/**
 * Typed rows produced from one raw MetaAccess device. Field names match the Drizzle schema's
 * TypeScript names, so the loader inserts them as they are. Pure types: no I/O imports.
 */
export interface DeviceRow {
  hwid: string;
  hostname: string | null;
  nickname: string | null;
  agentType: string | null;
  agentVersion: string | null;
  machineType: string | null;
  country: string | null;
  active: boolean | null;
  status: number | null;
  criticalStatus: number | null;
  exempt: boolean | null;
  totalIssue: number | null;
  totalCriticalIssue: number | null;
  lastSeen: Date | null;
  remediationLink: string | null;
  /** The API's `user` field ("username of a group"); `user` is a reserved word in SQL. */
  userGroup: string | null;
  loggedInUsername: string | null;
  loggedInDomain: string | null;
  /** The device object as received, made storable (no NUL characters, no lone surrogates). */
  raw: Record<string, unknown>;
  /** Hash of every normalized field except `lastSeen`: equal hashes mean "unchanged". */
  contentHash: string;
}

export interface DeviceOsRow {
  hwid: string;
  family: string | null;
  name: string | null;
  vendor: string | null;
  version: string | null;
  servicePackVersion: string | null;
  architecture: string | null;
  osLanguage: string | null;
  userPasswordSet: boolean | null;
}

export interface NetworkAdapterRow {
  hwid: string;
  /** Index in the device's `network_info` array. */
  position: number;
  macAddr: string | null;
  ipv4Addr: string | null;
  ipv6Addr: string | null;
}

export interface NormalizedDevice {
  device: DeviceRow;
  os: DeviceOsRow | null;
  adapters: NetworkAdapterRow[];
}

export type NormalizeResult = { ok: true; value: NormalizedDevice } | { ok: false; reason: string; raw: unknown };
