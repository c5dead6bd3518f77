import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { normalizeDevice } from './normalizeDevice.ts';
import type { NormalizedDevice, NormalizeResult } from './rows.ts';

const fixture = (name: string) => JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8')) as unknown[];

function accepted(result: NormalizeResult): NormalizedDevice {
  if (!result.ok) throw new Error(`expected ok, got rejection: ${result.reason}`);
  return result.value;
}

const byHwid = (page: unknown[]) =>
  new Map(
    page
      .map(normalizeDevice)
      .filter((r) => r.ok)
      .map((r) => [r.value.device.hwid, r.value]),
  );

const HASH = expect.stringMatching(/^[0-9a-f]{64}$/);
const LAST_SEEN = new Date('2013-12-04T08:00:00Z');
const LINK = 'https://gears.opswat.com/gears/remediation/2dac92f8fa8dfe02414835d792fb412f';

describe('vendor examples', () => {
  const [win7, winXp] = fixture('vendor-example-page.json');
  const [phone] = fixture('vendor-mobile-page.json');

  it('maps the Windows 7 laptop to exact rows', () => {
    const hwid = '6WXJURV8QAM0I7KC';
    expect(accepted(normalizeDevice(win7))).toEqual({
      device: {
        hwid,
        hostname: 'Win_7ENTx64_English',
        nickname: 'Win_7ENTx64_English',
        agentType: 'managed',
        agentVersion: '6.1.51.0',
        machineType: 'laptop',
        country: 'Unknown',
        active: true,
        status: 1,
        criticalStatus: 0,
        exempt: false,
        totalIssue: 10,
        totalCriticalIssue: 0,
        lastSeen: LAST_SEEN,
        remediationLink: `${LINK}/6WXJURV8QAM0I7KC/009nOa7nMaInXaDnMaZ1J/remediation.html`,
        userGroup: null,
        loggedInUsername: 'test',
        loggedInDomain: 'WIN_7ENTX64_ENG',
        raw: win7,
        contentHash: HASH,
      },
      os: {
        hwid,
        family: 'Windows',
        name: 'Windows 7 Enterprise',
        vendor: 'Microsoft Corp.',
        version: '6.1.7600',
        servicePackVersion: '0.0',
        architecture: '64-Bit',
        osLanguage: null,
        userPasswordSet: true,
      },
      adapters: [{ hwid, position: 0, macAddr: '00:0c:29:f2:7a:29', ipv4Addr: '10.0.50.106', ipv6Addr: 'fe80::3c64:7e44:4e78:677' }],
    });
  });

  it('maps the Windows XP VM to exact rows (upper-case MAC, empty IPv6)', () => {
    const hwid = 'BCDJDHT6JLFIOXIA';
    expect(accepted(normalizeDevice(winXp))).toEqual({
      device: {
        hwid,
        hostname: 'tomas-0c8fb945d',
        nickname: 'Windows XP VM',
        agentType: 'managed',
        agentVersion: '4.4.5.0',
        machineType: 'vm',
        country: 'United States',
        active: true,
        status: 1,
        criticalStatus: 1,
        exempt: true,
        totalIssue: 5,
        totalCriticalIssue: 1,
        lastSeen: LAST_SEEN,
        remediationLink: `${LINK}/BCDJDHT6JLFIOXIA/004APD1FU42/remediation.html`,
        userGroup: 'gear',
        loggedInUsername: 'Administrator',
        loggedInDomain: 'TOMAS-0C8FB945D',
        raw: winXp,
        contentHash: HASH,
      },
      os: {
        hwid,
        family: 'Windows',
        name: 'Windows XP Professional',
        vendor: 'Microsoft Corp.',
        version: '5.1.2600',
        servicePackVersion: '3.0',
        architecture: '32-Bit',
        osLanguage: '20',
        userPasswordSet: true,
      },
      adapters: [{ hwid, position: 0, macAddr: '00:0c:29:0a:83:0c', ipv4Addr: '192.168.159.138', ipv6Addr: null }],
    });
  });

  it('maps the mobile device: missing fields and OS details become null', () => {
    const hwid = 'W7ibNr5eVxv3wHlmsAWKo9MazUpkdWQG';
    expect(accepted(normalizeDevice(phone))).toEqual({
      device: {
        hwid,
        hostname: "Thang's Phone",
        nickname: null,
        agentType: null,
        agentVersion: '7.0.250.0',
        machineType: 'phone',
        country: null,
        active: true,
        status: 1,
        criticalStatus: 0,
        exempt: null,
        totalIssue: 10,
        totalCriticalIssue: 0,
        lastSeen: LAST_SEEN,
        remediationLink: `${LINK}/6WXJURV8QAM0I7KC/009nOa7nMaInXaDnMaZ1J/remediation.html?od=2`,
        userGroup: null,
        loggedInUsername: null,
        loggedInDomain: null,
        raw: phone,
        contentHash: HASH,
      },
      os: {
        hwid,
        family: 'android',
        name: 'Android',
        vendor: 'Google Inc.',
        version: '4.4.2',
        servicePackVersion: null,
        architecture: null,
        osLanguage: 'English',
        userPasswordSet: null,
      },
      adapters: [{ hwid, position: 0, macAddr: '00:0c:29:f2:7a:29', ipv4Addr: '10.0.50.106', ipv6Addr: 'fe80::3c64:7e44:4e78:677' }],
    });
  });

  it('keeps the content hash stable across releases (a change marks every device changed once)', () => {
    expect(accepted(normalizeDevice(win7)).device.contentHash).toBe('752bf5c9ab2b7dfc29ddb4b4fd2cfe1743935a82aa54179d31d3cfd336f4735f');
  });
});

describe('hostile records', () => {
  const devices = byHwid(fixture('hostile-page.json'));
  const get = (hwid: string) => {
    const found = devices.get(hwid);
    if (!found) throw new Error(`${hwid} was not accepted`);
    return found;
  };

  it('reads numbers and flags sent as strings, and treats empty strings as missing', () => {
    const { device, os } = get('H-STRINGS');
    expect(device).toMatchObject({
      hostname: '12345',
      nickname: null,
      agentType: null,
      agentVersion: '  7.1.0.0 ',
      machineType: 'LAPTOP',
      country: null,
      active: true,
      status: 1,
      criticalStatus: 0,
      exempt: false,
      totalIssue: 3,
      totalCriticalIssue: 2,
      lastSeen: LAST_SEEN,
      remediationLink: null,
      userGroup: 'false',
      loggedInUsername: null,
      loggedInDomain: 'CORP',
    });
    expect(os).toEqual({
      hwid: 'H-STRINGS',
      family: 'Windows',
      name: null,
      vendor: null,
      version: null,
      servicePackVersion: null,
      architecture: null,
      osLanguage: null,
      userPasswordSet: true,
    });
  });

  it('normalizes MACs of any case and notation, drops empty or misplaced IPs, keeps array positions', () => {
    expect(get('H-STRINGS').adapters).toEqual([
      { hwid: 'H-STRINGS', position: 0, macAddr: 'aa:bb:cc:dd:ee:0f', ipv4Addr: '10.0.0.5', ipv6Addr: 'fe80::1' },
      { hwid: 'H-STRINGS', position: 2, macAddr: 'aa:bb:cc:dd:ee:ff', ipv4Addr: null, ipv6Addr: null },
      { hwid: 'H-STRINGS', position: 4, macAddr: 'aa:bb:cc:dd:ee:ff', ipv4Addr: null, ipv6Addr: null },
    ]);
  });

  it('stores null for junk values instead of guessing, and keeps the junk in raw', () => {
    const { device, os, adapters } = get('H-JUNK');
    expect(device).toMatchObject({
      hostname: null,
      nickname: null,
      active: null,
      status: null,
      criticalStatus: null,
      exempt: null,
      totalIssue: null,
      totalCriticalIssue: null,
      lastSeen: null,
      userGroup: null,
      loggedInUsername: null,
      loggedInDomain: null,
    });
    expect(os).toBeNull();
    expect(adapters).toEqual([{ hwid: 'H-JUNK', position: 0, macAddr: '00:0c:29:f2:7a:29', ipv4Addr: null, ipv6Addr: null }]);
    expect(device.raw['future_field']).toEqual({ nested: [[[{ deep: [1, { a: [null, true, 'x'] }] }]]] });
    expect(device.raw['total_issue']).toBe(-4);
  });

  it('removes NUL characters and lone surrogates from columns and raw', () => {
    const { device, os, adapters } = get('H-NUL');
    expect(device).toMatchObject({
      hostname: 'hostname',
      nickname: '\uFFFDlone',
      agentVersion: null,
      loggedInUsername: 'bob',
      lastSeen: LAST_SEEN,
    });
    expect(device.raw).toMatchObject({ hostname: 'hostname', weirdkey: 'v' + 'al' });
    expect(JSON.stringify(device.raw)).not.toMatch(/\\u0000|\\ud800/i);
    expect(os).toBeNull();
    expect(adapters).toEqual([]);
  });

  it('trims the hwid, reads zone-less times as UTC, and accepts a numeric hwid as text', () => {
    const empty = get('H-EMPTY');
    expect(empty.device.lastSeen).toEqual(LAST_SEEN);
    expect(empty.os).toBeNull();
    expect(empty.adapters).toEqual([]);
    expect(empty.device.raw['hwid']).toBe('  H-EMPTY\t');
    const numeric = get('123456');
    expect(numeric.device).toMatchObject({ status: 0, lastSeen: LAST_SEEN });
  });

  it('rejects records without a usable hwid, with a reason and a storable raw', () => {
    const rejected = fixture('hostile-page.json')
      .map(normalizeDevice)
      .filter((r) => !r.ok);
    expect(rejected.map((r) => r.reason)).toEqual([
      'missing hwid',
      'missing hwid',
      'hwid is empty',
      'hwid is empty',
      'hwid is not a string (object)',
      'hwid is not a string (array)',
      'hwid is not a string (boolean)',
      'hwid contains a NUL character',
      'record is not an object (array)',
      'record is not an object (null)',
      'record is not an object (string)',
      'record is not an object (number)',
    ]);
    expect(rejected[0]).toMatchObject({ raw: { hostname: 'no hwid at all' } });
    expect(rejected[7]).toMatchObject({ raw: { hwid: 'H--NUL' } });
  });

  it('rejects an over-long hwid and one made of broken Unicode', () => {
    expect(normalizeDevice({ hwid: 'x'.repeat(257) })).toMatchObject({ ok: false, reason: 'hwid longer than 256 characters' });
    expect(normalizeDevice({ hwid: 'x'.repeat(256) }).ok).toBe(true);
    expect(normalizeDevice({ hwid: 'a\ud800' })).toMatchObject({ ok: false, raw: { hwid: 'a\uFFFD' } });
  });
});

describe('records that throw when read (never JSON; counterexamples from the property tests)', () => {
  const throwing = (thrown: unknown) =>
    Object.defineProperty({}, 'hwid', {
      enumerable: true,
      get: () => {
        throw thrown;
      },
    });

  it('rejects one whose thrown value cannot be made a string, instead of throwing', () => {
    expect(normalizeDevice(throwing(Object.create(null)))).toEqual({
      ok: false,
      reason: 'record could not be normalized: unreadable error',
      raw: null,
    });
  });

  it('gives a reason that text can store when the error message holds NUL or a lone surrogate', () => {
    expect(normalizeDevice(throwing(new Error('\u0000')))).toMatchObject({ ok: false, reason: 'record could not be normalized: ' });
    expect(normalizeDevice(throwing(new Error('\udfff')))).toMatchObject({ ok: false, reason: 'record could not be normalized: \uFFFD' });
  });
});

describe('content hash', () => {
  const [win7] = fixture('vendor-example-page.json') as Record<string, unknown>[];
  const hashOf = (raw: unknown) => accepted(normalizeDevice(raw)).device.contentHash;
  const base = hashOf(win7);

  it('ignores last_seen, key order and unknown fields', () => {
    expect(hashOf({ ...win7, last_seen: '2024-01-01T00:00:00Z' })).toBe(base);
    expect(hashOf(Object.fromEntries(Object.entries(win7 ?? {}).reverse()))).toBe(base);
    expect(hashOf({ ...win7, brand_new_field: { a: 1 } })).toBe(base);
    expect(hashOf({ ...win7, status: '1', total_issue: '10' })).toBe(base);
  });

  it('changes when a typed field, an OS field or an adapter changes', () => {
    const osInfo = win7?.['os_info'] as Record<string, unknown>;
    expect(hashOf({ ...win7, status: 0 })).not.toBe(base);
    expect(hashOf({ ...win7, hostname: 'renamed' })).not.toBe(base);
    expect(hashOf({ ...win7, os_info: { ...osInfo, version: '6.1.7601' } })).not.toBe(base);
    expect(hashOf({ ...win7, network_info: [{ mac_addr: '00:0c:29:f2:7a:2a' }] })).not.toBe(base);
    expect(hashOf({ ...win7, network_info: [] })).not.toBe(base);
    expect(hashOf({ ...win7, os_info: null })).not.toBe(base);
  });
});

describe('generated hostile input', () => {
  // Seeded, so a failure reproduces; mulberry32.
  let seed = 0x5eed;
  const random = () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const ATOMS = [
    null,
    true,
    false,
    0,
    -0,
    1,
    -1,
    1.5,
    1e300,
    -1e300,
    2 ** 31,
    32_768,
    1386144000,
    '',
    ' ',
    '\u0000',
    '\ud800',
    '\udc00x',
    '1',
    ' 2 ',
    '3.0',
    'yes',
    'TRUE',
    'abc',
    '00:0C:29:F2:7A:29',
    'aabb.ccdd.eeff',
    '10.0.0.1',
    'fe80::1%eth0',
    '::1',
    '2013-12-04T08:00:00Z',
    'Wed, 04 Dec 2013 08:00:00 GMT',
    '2013-02-30',
    '__proto__',
  ] as const;
  const KEYS = [
    'hwid',
    'hostname',
    'nickname',
    'agent_type',
    'agent_version',
    'machine_type',
    'country',
    'active',
    'status',
    'critical_status',
    'exempt',
    'total_issue',
    'total_critical_issue',
    'last_seen',
    'remediation_link',
    'user',
    'user_info',
    'username',
    'domain',
    'os_info',
    'family',
    'name',
    'user_password_set',
    'network_info',
    'mac_addr',
    'ipv4_addr',
    'ipv6_addr',
    '__proto__',
    'constructor',
    'x\u0000',
    '\ud800',
  ] as const;
  const randomChars = (n: number) => String.fromCharCode(...Array.from({ length: n }, () => Math.floor(random() * 0xffff)));
  const value = (depth: number): unknown => {
    const roll = random();
    if (depth > 4 || roll < 0.55) return random() < 0.8 ? pick(ATOMS) : randomChars(4);
    if (roll < 0.75) return Array.from({ length: Math.floor(random() * 4) }, () => value(depth + 1));
    return JSON.parse(
      JSON.stringify(Object.fromEntries(Array.from({ length: Math.floor(random() * 6) }, () => [pick(KEYS), value(depth + 1)]))) ?? 'null',
    );
  };
  const device = (): unknown => {
    const entries = KEYS.filter(() => random() < 0.6).map((key) => [key, value(1)] as const);
    const record = Object.fromEntries(entries);
    if (random() < 0.7) record['hwid'] = pick(['dev-1', ' dev-2 ', 42, 'x\u0000', '', null]);
    return JSON.parse(JSON.stringify(record));
  };

  const TEXT = [
    'hostname',
    'nickname',
    'agentType',
    'agentVersion',
    'machineType',
    'country',
    'remediationLink',
    'userGroup',
    'loggedInUsername',
    'loggedInDomain',
  ] as const;
  const storable = (s: string) => !/\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s);
  const intIn = (v: number | null, min: number, max: number) => v === null || (Number.isInteger(v) && v >= min && v <= max);
  const boolOrNull = (v: unknown) => v === null || typeof v === 'boolean';

  function assertTyped({ device: d, os, adapters }: NormalizedDevice): void {
    expect(typeof d.hwid === 'string' && d.hwid === d.hwid.trim() && d.hwid !== '' && storable(d.hwid)).toBe(true);
    for (const key of TEXT) {
      const v = d[key];
      expect(v === null || (typeof v === 'string' && v.trim() !== '' && storable(v))).toBe(true);
    }
    expect([d.active, d.exempt].every(boolOrNull)).toBe(true);
    expect(intIn(d.status, -32768, 32767) && intIn(d.criticalStatus, -32768, 32767)).toBe(true);
    expect(intIn(d.totalIssue, 0, 2 ** 31 - 1) && intIn(d.totalCriticalIssue, 0, 2 ** 31 - 1)).toBe(true);
    expect(d.lastSeen === null || (d.lastSeen instanceof Date && !Number.isNaN(d.lastSeen.getTime()))).toBe(true);
    expect(storable(JSON.stringify(d.raw))).toBe(true);
    expect(d.contentHash).toMatch(/^[0-9a-f]{64}$/);
    if (os) expect(os.hwid === d.hwid && boolOrNull(os.userPasswordSet)).toBe(true);
    for (const a of adapters) {
      expect(a.hwid === d.hwid && Number.isInteger(a.position)).toBe(true);
      expect(a.macAddr === null || /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/.test(a.macAddr)).toBe(true);
      expect([a.ipv4Addr, a.ipv6Addr].every((ip) => ip === null || (ip.trim() === ip && !ip.includes('%')))).toBe(true);
    }
  }

  it('never throws, and accepted records always have the declared types', () => {
    let accepted = 0;
    for (let i = 0; i < 3000; i++) {
      const input = i % 3 === 0 ? value(0) : device();
      const result = normalizeDevice(input);
      if (result.ok) {
        accepted++;
        assertTyped(result.value);
      } else {
        expect(typeof result.reason).toBe('string');
        expect(storable(JSON.stringify(result.raw) ?? '')).toBe(true);
      }
    }
    expect(accepted).toBeGreaterThan(300);
  });
});
