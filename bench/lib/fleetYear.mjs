// The generated year of bench/history.mjs: every tracked field of device d on day i is a closed-form
// SQL expression of d's constants (table bench.fleet) and i, so a day's state, the previous day's,
// and what changed between them are computed in SQL without reading any history back. The year:
//  - compliance state (status, critical_status, exempt, active, issue counts): each device moves
//    to another of `states` states every 20 days (staggered: ~5 % of the fleet a day); 1 % of the
//    devices are flappers, switching between a compliant and a non-compliant state ~5 times a week;
//  - agent version: four releases (days 45, 130, 200, 290), each rolled out over a month, 4 % of the
//    devices 90 days late;
//  - OS: 6 OS names (Windows 85 %, macOS 10 %, Ubuntu 5 %); Windows takes a cumulative update every
//    30 days from day 10 (12 a year), macOS every 70 days from day 30, Ubuntu two point releases;
//    devices install an update in rings: 60 % 0–13 days after it ships, 30 % 14–27 days, 10 % a
//    month later (so the December update is still arriving on the year's last night);
//    0.5 % of the fleet moves from Windows 10 to Windows 11 during the year;
//  - hostname: ~18 % of the devices are renamed once in the year (~0.05 % a day);
//  - one adapter per device, its MAC fixed, its IPv4 address renewed every 100 days (1 % of the
//    fleet a day: one ip_added and one ip_removed each).
// The fleet is constant (no enrolments or removals after day 0).
// bench.events lists, for each day, the devices whose components may change that day (a superset:
// every flapper every day); the daily statements compute the exact difference for those only.
// bench.fleet.key carries each device's profile as of the last day generated (the snapshot insert
// reads it instead of recomputing 100,000 states).

export const AGENT_VERSIONS = ['4.3.3417.0', '4.3.3501.0', '4.4.112.0', '4.4.130.0', '4.4.201.0'];
const AGENT_RELEASES = [45, 130, 200, 290];
const OS_NAMES = ['Windows 11 Pro', 'Windows 10 Pro', 'Windows 11 Enterprise', 'macOS', 'Ubuntu', 'Windows Server 2022'];
const OS_FAMILIES = ['Windows', 'Windows', 'Windows', 'macOS', 'Linux', 'Windows'];
/** The days each OS's updates ship (Windows monthly from day 10, macOS every 70 days from day 30, Ubuntu twice). */
const WINDOWS_UPDATES = Array.from({ length: 12 }, (_, j) => 10 + 30 * j);
const MAC_UPDATES = [30, 100, 170, 240, 310];
const UBUNTU_UPDATES = [45, 225];
/** Versions per OS name (index v of the name's updates so far); the profile key reserves this many. */
const VERSIONS_PER_NAME = WINDOWS_UPDATES.length + 1;
const sqlText = (xs) => `array[${xs.map((x) => `'${x}'`).join(', ')}]`;
const sqlInts = (xs) => `array[${xs.join(', ')}]`;

/**
 * @param {{ states: number, days: number }} options  states: distinct compliance states, a multiple
 *   of 6 (status is [0, 0, 0, 1, 1, 3][k % 6] and total_issue 3·(k / 6) + k % 3: together they tell
 *   k, so every k in [0, states) is a different state, whatever the other fields).
 */
export function fleetYear({ states, days }) {
  if (states % 6 !== 0) throw new Error(`states must be a multiple of 6, not ${states}`);
  /**
   * The components of device f (a bench.fleet row) on day `i` (a literal), as a LATERAL subquery:
   * k the compliance state, a the agent version, n the OS name, v the OS version (index among that
   * name's updates), r renamed (boolean), e the IP lease epoch.
   */
  const components = (f, i) => {
    const hop = `((${f}.base + ((${i} + ${f}.phase) / 20)::bigint * 104729) % ${states})`;
    return `(select
      (case when ${f}.flap then ${hop} - ${hop} % 6 + case when (${3 * i} + ${f}.flap_c) % 7 < 3 then 3 else 0 end else ${hop} end)::int as k,
      width_bucket(${i} - ${f}.lag_a, ${sqlInts(AGENT_RELEASES)}) as a,
      case when ${i} >= ${f}.upgrade_day then 0 else ${f}.name_base end as n,
      width_bucket(${i} - ${f}.lag_o, ${f}.os_updates) as v,
      ${i} >= ${f}.rename_day as r,
      (${i} + ${f}.ip_phase) / 100 as e)`;
  };
  /** The per-device constants, then the candidate (day, device) pairs: SQL statements, in order. */
  const create = (n) => [
    'drop schema if exists bench cascade',
    'create schema bench',
    `create table bench.fleet (d int primary key, phase int not null, base bigint not null, flap boolean not null, flap_c int not null,
       lag_a int not null, lag_o int not null, os_updates int[] not null, name_base int not null, upgrade_day int, rename_day int not null,
       ip_phase int not null, key int) with (fillfactor = 70)`,
    `insert into bench.fleet (d, phase, base, flap, flap_c, lag_a, lag_o, os_updates, name_base, upgrade_day, rename_day, ip_phase)
     select d, d % 20, d::bigint * 7919, d % 100 = 37, d * 17 % 7,
       d * 131 % 30 + case when d % 25 = 0 then 90 else 0 end,
       d * 53 % 14 + case when d % 10 = 3 then 30 when d % 10 in (2, 5, 8) then 14 else 0 end,
       case when d % 20 in (16, 17) then ${sqlInts(MAC_UPDATES)} when d % 20 = 18 then ${sqlInts(UBUNTU_UPDATES)} else ${sqlInts(WINDOWS_UPDATES)} end,
       case when d % 20 < 9 then 0 when d % 20 < 14 then 1 when d % 20 < 16 then 2 when d % 20 < 18 then 3 when d % 20 = 18 then 4 else 5 end,
       case when d % 20 = 9 and d / 20 % 10 = 0 then 30 + d / 200 % 300 end,
       case when d * 7727 % 2000 = 0 then 1000000 else d * 7727 % 2000 end,
       d % 100
     from generate_series(1, ${n}) d`,
    `update bench.fleet f set key = ${profileKey('c')} from bench.fleet f0 cross join lateral ${components('f0', 0)} c where f0.d = f.d`,
    `create table bench.events as
     select distinct x.day, f.d
     from bench.fleet f cross join lateral (
       select generate_series(20 - f.phase, ${days - 1}, 20)
       union all select generate_series(1, ${days - 1}) where f.flap
       union all select f.lag_a + r from unnest(${sqlInts(AGENT_RELEASES)}) r
       union all select f.lag_o + u from unnest(f.os_updates) u
       union all select f.upgrade_day where f.upgrade_day is not null
       union all select f.rename_day
       union all select generate_series(100 - f.ip_phase, ${days - 1}, 100)) x(day)
     where x.day between 1 and ${days - 1}
     order by 1, 2`,
    'create index on bench.events (day)',
    'vacuum analyze bench.fleet, bench.events',
  ];
  // Fields from components (c: the alias of a components() row).
  const status = (c) => `(array[0, 0, 0, 1, 1, 3])[${c}.k % 6 + 1]::smallint`;
  const critical = (c) => `(${c}.k % 7 = 0)::int::smallint`;
  const exempt = (c) => `(${c}.k % 50 = 0)`;
  const active = (c) => `(${c}.k % 9 <> 0)`;
  const totalIssue = (c) => `(${c}.k / 6 * 3 + ${c}.k % 3)::int`;
  const totalCritical = (c) => `((${c}.k % 7 = 0)::int * (${c}.k % 3 + 1))::int`;
  const agent = (c) => `(${sqlText(AGENT_VERSIONS)})[${c}.a + 1]::text`;
  const osName = (c) => `(${sqlText(OS_NAMES)})[${c}.n + 1]::text`;
  const osFamily = (c) => `(${sqlText(OS_FAMILIES)})[${c}.n + 1]::text`;
  const osVersion = (c) => `(case ${c}.n when 3 then (${sqlText(['15.2', '15.3', '15.4', '15.5', '15.6', '26.0'])})[${c}.v + 1]
      when 4 then (${sqlText(['24.04.1', '24.04.2', '24.04.3'])})[${c}.v + 1]
      else (${sqlText(['10.0.26100.', '10.0.19045.', '10.0.22631.', '', '', '10.0.20348.'])})[${c}.n + 1]
        || ((array[2605, 5247, 4602, 0, 0, 2966])[${c}.n + 1] + 100 * ${c}.v) end)::text`;
  const hostname = (d, c) => `(case when ${c}.r then 'ws-' else 'host-' end || (${d}))`;
  const machineType = (d) => `(array['desktop', 'laptop', 'server', 'vm'])[(${d}) % 4 + 1]`;
  const ip = (d, epoch) => `('10.' || ((${d}) / 65536 + 7 * ${epoch}) % 256 || '.' || (${d}) / 256 % 256 || '.' || (${d}) % 256)`;
  const mac = (d) => `('02:00:' || lpad(to_hex((${d}) / 16777216 % 256), 2, '0') || ':' || lpad(to_hex((${d}) / 65536 % 256), 2, '0') || ':'
      || lpad(to_hex((${d}) / 256 % 256), 2, '0') || ':' || lpad(to_hex((${d}) % 256), 2, '0'))`;
  /** The snapshot profile's id: every combination of (k, a, n, v) has its own. */
  function profileKey(c) {
    return `(1 + ${c}.k + ${states} * (${c}.a + ${AGENT_VERSIONS.length} * (${c}.n * ${VERSIONS_PER_NAME} + ${c}.v)))`;
  }
  /** The profile's nine values, typed as the columns are, so the fingerprint is the product's (snapshotsStore.ts). */
  const profileValues = (c) => [
    status(c),
    critical(c),
    exempt(c),
    active(c),
    totalIssue(c),
    totalCritical(c),
    agent(c),
    osName(c),
    osVersion(c),
  ];
  const fingerprint = (c) => `md5(row(${profileValues(c).join(', ')})::text)::uuid`;
  /** (status, critical_status, exempt): what a status interval holds. */
  const statusTuple = (c) => `(${status(c)}, ${critical(c)}, ${exempt(c)})`;
  /** The change rows of one device between components p (before) and c (now): what recordRunHistory logs. */
  const changeRows = (d, p, c) => `
      select ${d} as device_id, v.change, v.old_value, v.new_value
      from (values ('status', ${status(p)}::text, ${status(c)}::text), ('critical_status', ${critical(p)}::text, ${critical(c)}::text),
        ('exempt', ${exempt(p)}::text, ${exempt(c)}::text), ('hostname', ${hostname(d, p)}, ${hostname(d, c)}),
        ('os_family', ${osFamily(p)}, ${osFamily(c)}), ('os_name', ${osName(p)}, ${osName(c)}), ('os_version', ${osVersion(p)}, ${osVersion(c)}),
        ('agent_version', ${agent(p)}, ${agent(c)})) as v(change, old_value, new_value)
      where v.old_value is distinct from v.new_value
      union all select ${d}, 'ip_added', null, ${ip(d, `${c}.e`)} where ${c}.e <> ${p}.e
      union all select ${d}, 'ip_removed', ${ip(d, `${p}.e`)}, null where ${c}.e <> ${p}.e`;
  return {
    create,
    components,
    status,
    critical,
    exempt,
    active,
    totalIssue,
    totalCritical,
    agent,
    osName,
    osFamily,
    osVersion,
    hostname,
    machineType,
    ip,
    mac,
    profileKey,
    profileValues,
    fingerprint,
    statusTuple,
    changeRows,
    /** Largest profile key: the profiles' identity sequence is set past it. */
    maxProfileKey: states * AGENT_VERSIONS.length * OS_NAMES.length * VERSIONS_PER_NAME,
  };
}
