/**
 * Deterministic MetaAccess device records, shaped like the vendor's Get Devices v2.3 examples.
 * Everything derives from a seed, so a test can name the exact fleet it runs against.
 */
import { HEX, int, MIXED_ALNUM, pick, randomChars, UPPER_ALNUM, weighted, type Rng } from './rng.ts';

export type RawDevice = Record<string, unknown>;

/** A device field as text: the generator writes strings (or null) there; a number or boolean a test put there is spelled out. */
export function textOf(value: unknown): string {
  if (typeof value === 'string') return value;
  return typeof value === 'number' || typeof value === 'boolean' ? String(value) : '';
}
export type ListOrder = 'asc' | 'des';

// [family, name, vendor, version, service pack]
type OsSpec = readonly [string, string, string, string, string];
const WIN = 'Microsoft Corp.';
const WINDOWS_CLIENT: readonly OsSpec[] = [
  ['Windows', 'Windows 11 Pro', WIN, '10.0.22631', '0.0'],
  ['Windows', 'Windows 11 Enterprise', WIN, '10.0.22621', '0.0'],
  ['Windows', 'Windows 10 Enterprise', WIN, '10.0.19045', '0.0'],
  ['Windows', 'Windows 10 Pro', WIN, '10.0.19044', '0.0'],
  ['Windows', 'Windows 7 Enterprise', WIN, '6.1.7601', '1.0'],
];
const WINDOWS_SERVER: readonly OsSpec[] = [
  ['Windows', 'Windows Server 2022 Datacenter', WIN, '10.0.20348', '0.0'],
  ['Windows', 'Windows Server 2019 Standard', WIN, '10.0.17763', '0.0'],
  ['Windows', 'Windows Server 2016 Standard', WIN, '10.0.14393', '0.0'],
];
const MACOS: readonly OsSpec[] = [
  ['MacOS', 'macOS Sequoia', 'Apple Inc.', '15.1', '0.0'],
  ['MacOS', 'macOS Sonoma', 'Apple Inc.', '14.4.1', '0.0'],
  ['MacOS', 'macOS Ventura', 'Apple Inc.', '13.6.4', '0.0'],
];
const LINUX: readonly OsSpec[] = [
  ['Linux', 'Ubuntu 22.04.4 LTS', 'Canonical Ltd.', '22.04', ''],
  ['Linux', 'Ubuntu 20.04.6 LTS', 'Canonical Ltd.', '20.04', ''],
  ['Linux', 'Red Hat Enterprise Linux 9.3', 'Red Hat, Inc.', '9.3', ''],
  ['Linux', 'Debian GNU/Linux 12', 'Debian', '12', ''],
  ['Linux', 'CentOS Linux 7', 'CentOS', '7.9.2009', ''],
];

const FIRST_NAMES = [
  'Anna',
  'Ben',
  'Chloe',
  'David',
  'Elena',
  'Farid',
  'Grace',
  'Hiro',
  'Ines',
  'Jonas',
  'Kim',
  'Linh',
  'Marco',
  'Nora',
  'Omar',
  'Priya',
  'Quang',
  'Rosa',
  'Sam',
  'Thang',
];
const LAST_NAMES = ['Nguyen', 'Smith', 'Garcia', 'Mueller', 'Tanaka', 'Rossi', 'Khan', 'Dubois', 'Novak', 'Silva'];
const COUNTRIES = ['United States', 'United States', 'Germany', 'Vietnam', 'United Kingdom', 'Japan', 'Brazil', 'Unknown'];
const GROUPS = ['gear', 'IT', 'Finance', 'Engineering', 'Sales'];
const SERVER_ROLES = ['DC', 'FS', 'SQL', 'WEB', 'APP', 'BUILD', 'PRINT'];
const AGENT_VERSIONS = ['4.3.3417.0', '4.3.3502.0', '4.3.3589.0', '4.3.3611.0'];
const MOBILE_AGENT_VERSIONS = ['7.0.250.0', '7.1.312.0', '7.2.104.0'];
const MAC_PREFIXES = ['00:0c:29', '00:50:56', '00:15:5d', '3c:22:fb', 'a4:83:e7', 'f0:18:98', 'dc:a6:32', '8c:85:90'];
const VM_MAC_PREFIXES = ['00:0c:29', '00:50:56', '00:15:5d'];

/** Fixed reference time: last_seen must not depend on the wall clock, or reruns would differ. */
export const REFERENCE_TIME = Date.UTC(2025, 0, 15, 12, 0, 0);
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

export const isoSeconds = (ms: number): string => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');

export interface DeviceOptions {
  mobileShare: number;
  /** 32 hex chars; appears in every remediation link of the account. */
  accountId: string;
  /** Lets the caller keep hwids unique across a simulator's whole life. */
  isTaken?: (hwid: string) => boolean;
  /** Ends the hwid (same length overall): unique by construction when no set of taken hwids is kept. */
  hwidSuffix?: string;
}

function newHwid(rng: Rng, mobile: boolean, opts: DeviceOptions): string {
  const suffix = opts.hwidSuffix ?? '';
  for (;;) {
    const hwid = mobile
      ? randomChars(rng, 32 - suffix.length, MIXED_ALNUM) + suffix
      : randomChars(rng, 16 - suffix.length, UPPER_ALNUM) + suffix;
    if (!opts.isTaken?.(hwid)) return hwid;
  }
}

function compliance(rng: Rng): Record<string, number> {
  const status = weighted(rng, [
    [0, 55],
    [1, 40],
    [3, 5],
  ] as const);
  const critical = status === 1 && rng() < 0.35 ? 1 : 0;
  const totalCritical = critical ? int(rng, 1, 4) : 0;
  const minor = status === 3 ? int(rng, 0, 3) : rng() < 0.7 ? 0 : int(rng, 1, 2);
  const totalIssue = status === 1 ? totalCritical + int(rng, 1, 12) : minor;
  return { critical_status: critical, total_critical_issue: totalCritical, total_issue: totalIssue, status };
}

function lastSeen(rng: Rng, active: number): string {
  const ago = active ? int(rng, 0, 2 * DAY) : int(rng, 3 * DAY, 120 * DAY);
  return isoSeconds(REFERENCE_TIME - ago);
}

function macAddress(rng: Rng, prefixes: readonly string[], upper: boolean): string {
  const tail = Array.from({ length: 3 }, () => randomChars(rng, 2, HEX)).join(':');
  const mac = `${pick(rng, prefixes)}:${tail}`;
  return upper ? mac.toUpperCase() : mac;
}

function ipv4(rng: Rng): string {
  const net = weighted(rng, [
    ['10', 50],
    ['192.168', 35],
    ['172', 15],
  ] as const);
  if (net === '10') return `10.${int(rng, 0, 255)}.${int(rng, 0, 255)}.${int(rng, 1, 254)}`;
  if (net === '172') return `172.${int(rng, 16, 31)}.${int(rng, 0, 255)}.${int(rng, 1, 254)}`;
  return `192.168.${int(rng, 0, 255)}.${int(rng, 1, 254)}`;
}

function ipv6(rng: Rng): string {
  if (rng() < 0.3) return '';
  const groups = Array.from({ length: 4 }, () => int(rng, 0, 0xffff).toString(16));
  return `fe80::${groups.join(':')}`;
}

function adapters(rng: Rng, count: number, prefixes: readonly string[]): RawDevice[] {
  const upper = rng() < 0.15;
  return Array.from({ length: count }, () => ({
    mac_addr: macAddress(rng, prefixes, upper),
    ipv4_addr: ipv4(rng),
    ipv6_addr: ipv6(rng),
  }));
}

function remediationLink(rng: Rng, accountId: string, hwid: string, mobile: boolean): string {
  const token = randomChars(rng, int(rng, 11, 21), MIXED_ALNUM);
  const base = `https://gears.opswat.com/gears/remediation/${accountId}/${hwid}/${token}/remediation.html`;
  return mobile ? `${base}?od=2` : base;
}

type Platform = 'windows' | 'server' | 'mac' | 'linux';
const PLATFORMS: Record<string, readonly (readonly [Platform, number])[]> = {
  desktop: [
    ['windows', 75],
    ['mac', 15],
    ['linux', 10],
  ],
  laptop: [
    ['windows', 60],
    ['mac', 35],
    ['linux', 5],
  ],
  server: [
    ['server', 55],
    ['linux', 45],
  ],
  vm: [
    ['windows', 30],
    ['server', 20],
    ['linux', 50],
  ],
};

function computerIdentity(rng: Rng, seq: number, platform: Platform, machineType: string) {
  const first = pick(rng, FIRST_NAMES);
  const username = `${first.charAt(0)}${pick(rng, LAST_NAMES)}`.toLowerCase();
  // Numbered from the enrolment sequence, as admins number servers, and so names rarely clash.
  const nn = String(seq).padStart(2, '0');
  switch (platform) {
    case 'windows': {
      const prefix = machineType === 'vm' ? 'WIN-VM' : machineType === 'laptop' ? 'LAPTOP' : 'DESKTOP';
      const hostname = `${prefix}-${randomChars(rng, 7, UPPER_ALNUM)}`;
      return { hostname, username, domain: rng() < 0.8 ? 'CORP' : hostname, os: pick(rng, WINDOWS_CLIENT) };
    }
    case 'server': {
      const hostname = `SRV-${pick(rng, SERVER_ROLES)}${nn}`;
      return { hostname, username: 'Administrator', domain: 'CORP', os: pick(rng, WINDOWS_SERVER) };
    }
    case 'mac': {
      const hostname = `${first}s-${machineType === 'laptop' ? 'MacBook-Pro' : 'iMac'}`;
      return { hostname, username, domain: hostname, os: pick(rng, MACOS) };
    }
    case 'linux': {
      const hostname = `${pick(rng, ['build', 'web', 'dev', 'ubuntu', 'ops'])}-${nn}`;
      const user = machineType === 'server' ? 'root' : username;
      return { hostname, username: user, domain: hostname, os: pick(rng, LINUX) };
    }
  }
}

function osLanguage(rng: Rng, family: string): string {
  if (family === 'Windows')
    return weighted(rng, [
      ['1033', 60],
      ['', 25],
      ['1031', 10],
      ['20', 5],
    ] as const);
  return weighted(rng, [
    ['en_US', 55],
    ['English', 25],
    ['', 20],
  ] as const);
}

function generateComputer(rng: Rng, seq: number, hwid: string, opts: DeviceOptions): RawDevice {
  const machineType = weighted(rng, [
    ['desktop', 35],
    ['laptop', 40],
    ['server', 10],
    ['vm', 15],
  ] as const);
  const platform = weighted(rng, PLATFORMS[machineType] ?? []);
  const { hostname, username, domain, os } = computerIdentity(rng, seq, platform, machineType);
  const [family, name, vendor, version, servicePack] = os;
  const active = rng() < 0.8 ? 1 : 0;
  const { status, ...counts } = compliance(rng);
  const legacy32 = name.startsWith('Windows 7') && rng() < 0.3;
  return {
    hwid,
    agent_type: weighted(rng, [
      ['managed', 85],
      ['persistent', 10],
      ['guest', 5],
    ] as const),
    hostname,
    nickname: weighted(rng, [
      [hostname, 80],
      [`${pick(rng, GROUPS)} ${machineType}`, 15],
      ['', 5],
    ] as const),
    agent_version: pick(rng, AGENT_VERSIONS),
    critical_status: counts.critical_status,
    total_critical_issue: counts.total_critical_issue,
    last_seen: lastSeen(rng, active),
    machine_type: machineType,
    country: pick(rng, COUNTRIES),
    active,
    total_issue: counts.total_issue,
    exempt: rng() < 0.04 ? 1 : 0,
    user_info: { username, domain },
    user: rng() < 0.7 ? '' : pick(rng, GROUPS),
    os_info: {
      family,
      name,
      vendor,
      version,
      service_pack_version: servicePack,
      architecture: legacy32 ? '32-Bit' : '64-Bit',
      os_language: osLanguage(rng, family),
      user_password_set: rng() < 0.9 ? '1' : '0',
    },
    network_info: adapters(
      rng,
      weighted(rng, [
        [0, 5],
        [1, 55],
        [2, 30],
        [3, 10],
      ] as const),
      machineType === 'vm' ? VM_MAC_PREFIXES : MAC_PREFIXES,
    ),
    status,
    remediation_link: remediationLink(rng, opts.accountId, hwid, false),
  };
}

/** Mobiles follow the vendor's mobile example: far fewer fields, and a different key order. */
function generateMobile(rng: Rng, hwid: string, opts: DeviceOptions): RawDevice {
  const machineType = rng() < 0.7 ? 'phone' : 'tablet';
  const ios = rng() < 0.45;
  const first = pick(rng, FIRST_NAMES);
  const model = ios ? (machineType === 'phone' ? 'iPhone' : 'iPad') : machineType === 'phone' ? 'Phone' : 'Tablet';
  const vendorModel = ios ? model : pick(rng, ['Galaxy S23', 'Pixel 8', 'Galaxy Tab S9']);
  const hostname = rng() < 0.8 ? `${first}'s ${model}` : vendorModel;
  const active = rng() < 0.7 ? 1 : 0;
  const { status, ...counts } = compliance(rng);
  return {
    hwid,
    hostname,
    agent_version: pick(rng, MOBILE_AGENT_VERSIONS),
    machine_type: machineType,
    active,
    ...counts,
    status,
    last_seen: lastSeen(rng, active),
    remediation_link: remediationLink(rng, opts.accountId, hwid, true),
    os_info: {
      ...(ios
        ? { family: 'ios', name: 'iOS', vendor: 'Apple Inc.', version: pick(rng, ['16.7.5', '17.4.1', '18.1']) }
        : { family: 'android', name: 'Android', vendor: 'Google Inc.', version: pick(rng, ['11', '12', '13', '14']) }),
      os_language: pick(rng, ['English', 'Vietnamese', 'German', '']),
    },
    network_info: adapters(rng, rng() < 0.2 ? 0 : 1, MAC_PREFIXES),
  };
}

/** `seq` is the enrolment number (1 = first device of the account). */
export function generateDevice(rng: Rng, seq: number, opts: DeviceOptions): RawDevice {
  const mobile = rng() < opts.mobileShare;
  const hwid = newHwid(rng, mobile, opts);
  return mobile ? generateMobile(rng, hwid, opts) : generateComputer(rng, seq, hwid, opts);
}

/** What an agent reporting in looks like: compliance moves, the agent may upgrade, last_seen advances. */
export function changeDevice(rng: Rng, device: RawDevice): void {
  const before = `${String(device.status)}/${String(device.total_issue)}`;
  let next = compliance(rng);
  while (`${next.status}/${next.total_issue}` === before) next = compliance(rng);
  Object.assign(device, next);
  const mobile = device.machine_type === 'phone' || device.machine_type === 'tablet';
  const versions = mobile ? MOBILE_AGENT_VERSIONS : AGENT_VERSIONS;
  const current = versions.indexOf(String(device.agent_version));
  const upgrade = versions[current + 1];
  if (current >= 0 && upgrade !== undefined && rng() < 0.3) device.agent_version = upgrade;
  const seen = typeof device.last_seen === 'string' ? Date.parse(device.last_seen) : Number.NaN;
  device.last_seen = isoSeconds((Number.isNaN(seen) ? REFERENCE_TIME : seen) + int(rng, 1, 48) * HOUR);
  device.active = 1;
}
