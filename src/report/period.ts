/** Calendar arithmetic for the report: days as `YYYY-MM-DD` strings, times shown in SYNC_TIMEZONE. */
import { dayIn } from '../lib/calendar.ts';

const DAY_MS = 86_400_000;

/** `day` moved by `n` calendar days (negative: earlier). Pure date arithmetic, no time zone. */
export function addDays(day: string, n: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + n * DAY_MS).toISOString().slice(0, 10);
}

/** Every day from `from` to `to`, both included. */
export function daysFrom(from: string, to: string): string[] {
  const days: string[] = [];
  for (let day = from; day <= to; day = addDays(day, 1)) days.push(day);
  return days;
}

/** The `days` calendar days that end today (in `timeZone`). */
export function periodEnding(now: Date, timeZone: string, days: number): { from: string; to: string; days: number } {
  const to = dayIn(now, timeZone);
  return { from: addDays(to, -(days - 1)), to, days };
}

/** `YYYY-MM-DD HH:MM` in `timeZone`, for people; JSON carries ISO instants instead. */
export function formatTime(at: Date, timeZone: string): string {
  const parts = new Intl.DateTimeFormat('en-CA', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(at);
  const part = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  return `${part('year')}-${part('month')}-${part('day')} ${part('hour')}:${part('minute')}`;
}

/** Whole days elapsed from `since` to `now` (never negative: clocks of two machines may disagree). */
export function wholeDaysBetween(since: Date, now: Date): number {
  return Math.max(0, Math.floor((now.getTime() - since.getTime()) / DAY_MS));
}
