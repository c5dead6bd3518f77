/** Where the nightly runs of a simulated history fall, in the time zone that decides a run's day. */

const DAY_MS = 86_400_000;

type ZonePart = 'year' | 'month' | 'day' | 'hour' | 'minute' | 'second';

function zoneParts(ms: number, timeZone: string): Record<ZonePart, number> {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).formatToParts(new Date(ms));
  // The options above ask for exactly these parts, so every one of them is present.
  return Object.fromEntries(parts.filter((p) => p.type !== 'literal').map((p) => [p.type, Number(p.value)])) as Record<ZonePart, number>;
}

/** How far the zone's wall clock is ahead of UTC at `ms`. */
function zoneOffsetMs(ms: number, timeZone: string): number {
  const p = zoneParts(ms, timeZone);
  return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second) - Math.floor(ms / 1000) * 1000;
}

/** YYYY-MM-DD in `timeZone` at `ms`. */
export function localDate(ms: number, timeZone: string): string {
  const p = zoneParts(ms, timeZone);
  return `${String(p.year).padStart(4, '0')}-${String(p.month).padStart(2, '0')}-${String(p.day).padStart(2, '0')}`;
}

export function addDays(date: string, days: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);
}

/**
 * The instant the zone's clocks show `hour`:`minute` on `date`. A time that a DST change skips
 * lands an hour later (or earlier): still on `date`.
 */
export function instantAt(date: string, hour: number, minute: number, timeZone: string): number {
  const wall = Date.parse(`${date}T00:00:00Z`) + (hour * 60 + minute) * 60_000;
  const guess = wall - zoneOffsetMs(wall, timeZone);
  return wall - zoneOffsetMs(guess, timeZone);
}

export interface NightlyRun {
  /** 0 for the first night. */
  index: number;
  /** The run's day in the time zone. */
  date: string;
  /** When the run starts. */
  startAt: number;
}

/**
 * The last `days` nights at `hour`:00 in `timeZone`, as a nightly schedule would have run them:
 * run k (from 1) on today − days + k, the last one today's; before `hour`, when today's has not
 * come yet, every date is a day earlier. Every run lies in the past.
 */
export function nightlyRuns(nowMs: number, days: number, timeZone: string, hour = 2): NightlyRun[] {
  const today = localDate(nowMs, timeZone);
  const last = instantAt(today, hour, 0, timeZone) <= nowMs ? today : addDays(today, -1);
  return Array.from({ length: days }, (_, index) => {
    const date = addDays(last, index + 1 - days);
    return { index, date, startAt: instantAt(date, hour, 0, timeZone) };
  });
}
