import { sql } from 'drizzle-orm';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '../src/db/openDatabase.ts';
import type { RawDevice } from '../src/simulator/devices.ts';
import { buildKnownHistory, daysBetween, hwidOf, localDay, ZONE, type KnownHistory, type KnownRun } from './helpers/analystHistory.ts';
import { parseMarkdown, README, SCHEMA_DOC, section, type SqlBlock } from './helpers/markdownSql.ts';
import { trackedFields } from './helpers/tracked.ts';

/**
 * Every ```sql block of docs/schema.md, run as written against a history built through the real
 * sync path (helpers/analystHistory.ts), as metaaccess_reader in SYNC_TIMEZONE. What each must
 * return is computed below from what the simulator served to each run, never from the database.
 */

const doc = parseMarkdown(SCHEMA_DOC);
const cookbook = doc.sqlBlocks;

const STATUS: Record<number, string> = { 0: 'compliant', 1: 'not compliant', 3: 'still reporting' };
const CRITICAL: Record<number, string> = { 0: 'no critical issues', 1: 'critical issues' };
const EXEMPT = (exempt: boolean) => (exempt ? 'exempt' : 'not exempt');
const ACTIVE = (active: boolean) => (active ? 'connected' : 'disconnected');
const DAY_MS = 86_400_000;

/** The fields the queries read, from a device as the API served it. */
function fields(raw: RawDevice) {
  const os = raw.os_info as { name: string };
  const adapters = raw.network_info as { ipv4_addr: string }[];
  return {
    hwid: String(raw.hwid),
    hostname: String(raw.hostname),
    status: Number(raw.status),
    critical: Number(raw.critical_status),
    exempt: raw.exempt === 1,
    active: raw.active === 1,
    agent: String(raw.agent_version),
    osName: os.name,
    ipv4: adapters.map((a) => a.ipv4_addr).filter((ip) => ip !== ''),
    lastSeen: new Date(String(raw.last_seen)),
  };
}

type Row = Record<string, unknown>;
const count = <T>(xs: T[], p: (x: T) => boolean) => xs.filter(p).length;
const pct = (n: number, d: number) => (d === 0 ? null : Math.round((1000 * n) / d) / 10);
const byKey =
  <T>(...keys: ((x: T) => number | string | Date)[]) =>
  (a: T, b: T) => {
    for (const key of keys) {
      const x = key(a);
      const y = key(b);
      const [u, v] = x instanceof Date && y instanceof Date ? [x.getTime(), y.getTime()] : [x, y];
      if (u < v) return -1;
      if (u > v) return 1;
    }
    return 0;
  };
const desc = (f: (x: Row) => number) => (x: Row) => -f(x);

/** The expected rows of each cookbook query (by heading), from the history as served. */
function expectations(h: KnownHistory): Record<string, () => Row[]> {
  const { runs, today } = h;
  const last = runs.at(-1)!;
  const within = (day: string, days: number) => daysBetween(day, today) < days;
  const served = (run: KnownRun) => run.served.map(fields);
  const find = (run: KnownRun, hwid: string) => served(run).find((d) => d.hwid === hwid);
  /** The run before `index` that listed the device: what the change log diffs against. */
  const before = (index: number, hwid: string) =>
    runs
      .slice(0, index)
      .reverse()
      .find((r) => find(r, hwid));
  /** The day's run that compliance_daily keeps: the last of the day. */
  const dailyRuns = [...new Map(runs.map((r) => [r.day, r])).values()];
  const hwids = [...new Set(runs.flatMap((r) => served(r).map((d) => d.hwid)))];
  /** devices.hostname: as the last run that listed the device served it. */
  const hostnameOf = (hwid: string) =>
    find(
      [...runs].reverse().find((r) => find(r, hwid))!,
      hwid,
    )!.hostname;
  const state = (d: ReturnType<typeof fields>) => `${d.status}/${d.critical}/${d.exempt}`;
  /** The runs in a row, up to `index`, in which the device was listed in the same state. */
  const streakStart = (index: number, hwid: string) => {
    let k = index;
    while (k > 0 && find(runs[k - 1]!, hwid) && state(find(runs[k - 1]!, hwid)!) === state(find(runs[k]!, hwid)!)) k--;
    return runs[k]!;
  };
  /** The run that began the device's unbroken run of its current status (critical/exempt aside). */
  const statusStreakStart = (index: number, hwid: string) => {
    let k = index;
    while (k > 0 && find(runs[k - 1]!, hwid) && find(runs[k - 1]!, hwid)!.status === find(runs[k]!, hwid)!.status) k--;
    return runs[k]!;
  };
  return {
    'Compliance trend (last 30 days)': () =>
      dailyRuns
        .filter((r) => within(r.day, 30))
        .map((r) => {
          const ds = served(r);
          const compliant = count(ds, (d) => d.status === 0);
          return {
            day: r.day,
            devices: ds.length,
            compliant,
            non_compliant: count(ds, (d) => d.status === 1),
            in_progress: count(ds, (d) => d.status === 3),
            pct_compliant: pct(compliant, ds.length),
          };
        }),

    'Critical trend (last 30 days)': () =>
      dailyRuns
        .filter((r) => within(r.day, 30))
        .map((r) => {
          const ds = served(r);
          const critical = count(ds, (d) => d.critical === 1);
          return { day: r.day, devices: ds.length, critical, pct_critical: pct(critical, ds.length) };
        }),

    'Non-compliant now, and since when': () =>
      served(last)
        .filter((d) => d.status === 1)
        .map((d) => {
          const since = statusStreakStart(runs.length - 1, d.hwid).finishedAt;
          return {
            hostname: d.hostname,
            hwid: d.hwid,
            critical: CRITICAL[d.critical],
            exempt: EXEMPT(d.exempt),
            since,
            days: daysBetween(localDay(since.getTime()), today),
          };
        })
        .sort(
          byKey(
            (r) => r.since,
            (r) => r.hostname,
          ),
        ),

    'Top flappers (last 30 days)': () =>
      hwids
        .map((hwid) => {
          const changes = runs.filter((r) => {
            const prev = before(r.index, hwid);
            return within(r.day, 30) && find(r, hwid) && prev && find(prev, hwid)!.status !== find(r, hwid)!.status;
          }).length;
          const now = find(last, hwid);
          return { hostname: hostnameOf(hwid), hwid, status_changes: changes, status_now: now ? STATUS[now.status] : 'removed' };
        })
        .filter((r) => r.status_changes > 0)
        .sort(
          byKey(
            desc((r) => r.status_changes as number),
            (r) => r.hostname as string,
          ),
        )
        .slice(0, 20),

    'What changed last week': () =>
      runs
        .filter((r) => within(r.day, 7))
        .flatMap((r) =>
          served(r).flatMap((d) => {
            const prev = before(r.index, d.hwid);
            if (!prev) return [];
            const old = find(prev, d.hwid)!.ipv4;
            const row = (change: string, oldAddress: string | null, newAddress: string | null) => ({
              day: r.day,
              hostname: hostnameOf(d.hwid),
              hwid: d.hwid,
              change,
              old_address: oldAddress,
              new_address: newAddress,
            });
            return [
              ...old.filter((ip) => !d.ipv4.includes(ip)).map((ip) => row('ip_removed', ip, null)),
              ...d.ipv4.filter((ip) => !old.includes(ip)).map((ip) => row('ip_added', null, ip)),
            ];
          }),
        )
        .sort(
          byKey(
            (r) => r.day,
            (r) => r.hostname,
            (r) => (r.change === 'ip_removed' ? 0 : 1),
            (r) => r.old_address ?? r.new_address ?? '',
          ),
        ),

    'Devices not seen for 30 days': () =>
      served(last)
        .filter((d) => d.lastSeen.getTime() < Date.now() - 30 * DAY_MS)
        .map((d) => ({
          hostname: d.hostname,
          hwid: d.hwid,
          last_seen: d.lastSeen,
          days_not_seen: daysBetween(localDay(d.lastSeen.getTime()), today),
          active_label: ACTIVE(d.active),
          status_label: STATUS[d.status],
        }))
        .sort(
          byKey(
            (r) => r.last_seen,
            (r) => r.hostname,
          ),
        ),

    'OS mix over time (last 30 days)': () =>
      dailyRuns
        .filter((r) => within(r.day, 30))
        .flatMap((r) => {
          const names = served(r).map((d) => d.osName);
          return [...new Set(names)]
            .map((os) => ({ day: r.day, os_name: os, devices: count(names, (n) => n === os) }))
            .sort(
              byKey(
                desc((x) => x.devices as number),
                (x) => x.os_name as string,
              ),
            );
        }),

    'Devices per /24 subnet': () => {
      const subnets = new Map<string, { devices: Set<string>; adapters: number }>();
      for (const d of served(last)) {
        for (const ip of d.ipv4.filter((a) => a.startsWith('10.'))) {
          const subnet = `${ip.split('.').slice(0, 3).join('.')}.0/24`;
          const entry = subnets.get(subnet) ?? { devices: new Set(), adapters: 0 };
          entry.devices.add(d.hwid);
          entry.adapters += 1;
          subnets.set(subnet, entry);
        }
      }
      const octets = (s: string) =>
        s
          .split(/[./]/)
          .slice(0, 4)
          .reduce((n, o) => n * 256 + Number(o), 0);
      return [...subnets]
        .map(([subnet, e]) => ({ subnet, devices: e.devices.size, adapters: e.adapters }))
        .sort(byKey((r) => octets(r.subnet)));
    },

    'Agent versions in use': () => {
      const ds = served(last);
      return [...new Set(ds.map((d) => d.agent))]
        .map((agent) => ({
          agent_version: agent,
          devices: count(ds, (d) => d.agent === agent),
          connected: count(ds, (d) => d.agent === agent && d.active),
        }))
        .sort(
          byKey(
            desc((r) => r.devices as number),
            (r) => r.agent_version as string,
          ),
        );
    },

    'Added, removed and changed per run (last 30 days)': () =>
      runs
        .filter((r) => r.index > 0 && within(r.day, 30))
        .map((r) => {
          const prev = runs[r.index - 1]!;
          const now = new Map(r.served.map((raw) => [String(raw.hwid), raw]));
          const then = new Map(prev.served.map((raw) => [String(raw.hwid), raw]));
          return {
            run_id: r.runId,
            finished_at: r.finishedAt,
            added: count([...now.keys()], (hwid) => !then.has(hwid)),
            removed: count([...then.keys()], (hwid) => !now.has(hwid)),
            changed: count(
              [...now].filter(([hwid]) => then.has(hwid)),
              ([hwid, raw]) => trackedFields(raw) !== trackedFields(then.get(hwid)),
            ),
          };
        }),

    "One device's compliance timeline": () => {
      const hwid = hwidOf('C');
      const rows: Row[] = [];
      for (const r of runs) {
        const d = find(r, hwid);
        if (!d || streakStart(r.index, hwid) !== r) continue;
        const end = runs.slice(r.index + 1).find((n) => !find(n, hwid) || state(find(n, hwid)!) !== state(d));
        rows.push({
          valid_from: r.finishedAt,
          valid_to: end?.finishedAt ?? null,
          status: STATUS[d.status],
          critical: CRITICAL[d.critical],
          exempt: EXEMPT(d.exempt),
          days: daysBetween(r.day, end?.day ?? today),
        });
      }
      return rows;
    },
  };
}

/** node-postgres as a BI tool would show the values: dates as text, counts and numerics as numbers. */
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (oid === 1082) return (v: string) => v;
    if (oid === 20 || oid === 1700) return (v: string) => Number(v);
    return pg.types.getTypeParser(oid, format) as (value: string) => unknown;
  }) as typeof pg.types.getTypeParser,
};

let history: KnownHistory;
let reader: pg.Client;
let expected: Record<string, () => Row[]>;

beforeAll(async () => {
  history = await buildKnownHistory();
  reader = new pg.Client({ connectionString: history.harness.tdb.url, types });
  await reader.connect();
  await reader.query('set role metaaccess_reader');
  await reader.query(`set time zone '${ZONE}'`);
  expected = expectations(history);
}, 180_000);

afterAll(async () => {
  await reader?.end().catch(() => undefined);
  await history?.harness.close();
});

/** Runs a query as the reader, and checks that "today" did not move while the test ran. */
async function run(text: string): Promise<Row[]> {
  // Several statements in one text get one result each (node-postgres' types do not say so): the last one's rows.
  const result: unknown = await reader.query(text);
  const [{ today }] = (await reader.query('select current_date::text as today')).rows as [{ today: string }];
  if (today !== history.today) throw new Error(`the day changed in ${ZONE} while the test ran (${history.today} → ${today}): run it again`);
  return ((Array.isArray(result) ? result.at(-1) : result) as pg.QueryResult<Row>).rows;
}

const title = (block: SqlBlock) => block.heading?.text ?? `(no heading, line ${block.line})`;

describe('docs/schema.md', () => {
  it('has a cookbook: one sql block under each of its own ### headings', () => {
    expect(cookbook.length).toBeGreaterThanOrEqual(10);
    for (const block of cookbook) expect(block.heading?.level, `the sql block at line ${block.line}`).toBe(3);
    const titles = cookbook.map(title);
    expect(new Set(titles).size, 'two sql blocks under one heading').toBe(titles.length);
    // The bench times these three by heading.
    expect(titles).toEqual(
      expect.arrayContaining(['Non-compliant now, and since when', 'Top flappers (last 30 days)', 'What changed last week']),
    );
  });

  it('has an expected result for every cookbook query, and no expectation without a query', () => {
    const titles = cookbook.map(title);
    expect(
      titles.filter((t) => !(t in expected)),
      'cookbook queries without an expected result in this test',
    ).toEqual([]);
    expect(
      Object.keys(expected).filter((t) => !titles.includes(t)),
      'expectations without a query in docs/schema.md',
    ).toEqual([]);
  });

  it('the known history has what the cookbook is about', () => {
    // Guards the fixture: each query would pass vacuously on an empty result.
    for (const [heading, rows] of Object.entries(expected)) expect(rows().length, heading).toBeGreaterThan(0);
    expect(new Set(history.runs.map((r) => r.day)).size).toBe(history.runs.length - 1);
  });

  for (const block of cookbook) {
    it(`cookbook: ${title(block)}`, async () => {
      const want = expected[title(block)];
      if (!want)
        throw new Error(
          `no expected result for the cookbook query "${title(block)}" (docs/schema.md line ${block.line}): add one to test/schemaDocs.e2e.test.ts`,
        );
      expect(await run(block.sql)).toEqual(want());
    });
  }

  it('lists in its storage table every relation of the schema the reader may not read', async () => {
    const storage = section(doc, 'Storage, not for the reader').join('\n');
    const relations = await queryRows<{ relname: string }>(
      history.harness.tdb.database.db,
      sql`
      select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = 'metaaccess' and c.relkind in ('r', 'p', 'v', 'm', 'f')
        and not (c.relname = any (metaaccess.reporting_relations())) order by 1`,
    );
    expect(relations.length).toBeGreaterThan(0);
    for (const { relname } of relations)
      expect(storage, relname).toContain(`\`${relname.replace(/^snapshots_\d{4}_\d{2}$/, 'snapshots_YYYY_MM')}\``);
  });
});

describe('README "What it writes" examples', () => {
  const readme = parseMarkdown(README);
  const examples = readme.sqlBlocks.filter((b) => b.heading?.text.startsWith('What it writes'));
  /** The statements of the blocks, each named by the comment line above it. */
  const statements = examples
    .flatMap((b) =>
      b.sql
        .split(/;\s*$/m)
        .map((s) => s.trim())
        .filter(Boolean),
    )
    .map((text) => ({
      name: /^--\s*(.*)$/m.exec(text)?.[1] ?? text.slice(0, 40),
      text,
    }));

  it('each runs as the reader', async () => {
    expect(statements.length).toBeGreaterThanOrEqual(4);
    for (const s of statements) await expect(run(s.text), s.name).resolves.toBeDefined();
  });

  it('compliance per OS counts each day once, from the run compliance_daily took', async () => {
    const perOs = statements.find((s) => /compliance per OS/.test(s.name));
    expect(perOs).toBeDefined();
    const rows = await run(perOs!.text);
    const totals = new Map<string, number>();
    for (const r of rows) totals.set(String(r.day), (totals.get(String(r.day)) ?? 0) + Number(r.devices));
    const daily = [...new Map(history.runs.map((r) => [r.day, r])).values()].filter((r) => daysBetween(r.day, history.today) < 30);
    expect(Object.fromEntries(totals)).toEqual(Object.fromEntries(daily.map((r) => [r.day, r.served.length])));
  });

  it("one device's history names a device the history has", async () => {
    const one = statements.find((s) => /one device/.test(s.name));
    expect(one).toBeDefined();
    const rows = await run(one!.text);
    const [first] = await queryRows<{ hwid: string }>(
      history.harness.tdb.database.db,
      sql`select hwid from metaaccess.devices order by id limit 1`,
    );
    expect(rows).toHaveLength(history.runs.filter((r) => r.served.some((d) => d.hwid === first!.hwid)).length);
  });
});
