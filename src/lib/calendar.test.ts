import { describe, expect, it } from 'vitest';
import { dayIn } from './calendar.ts';

describe('dayIn', () => {
  it('gives the day in the zone, not the UTC day', () => {
    const lateEvening = new Date('2026-03-01T03:30:00Z');
    expect(dayIn(lateEvening, 'UTC')).toBe('2026-03-01');
    expect(dayIn(lateEvening, 'America/New_York')).toBe('2026-02-28');
    expect(dayIn(new Date('2026-12-31T23:30:00Z'), 'Asia/Tokyo')).toBe('2027-01-01');
  });

  it('follows daylight saving time', () => {
    // New York is UTC-4 in July and UTC-5 in January.
    expect(dayIn(new Date('2026-07-10T03:59:00Z'), 'America/New_York')).toBe('2026-07-09');
    expect(dayIn(new Date('2026-01-10T04:59:00Z'), 'America/New_York')).toBe('2026-01-09');
    expect(dayIn(new Date('2026-01-10T05:00:00Z'), 'America/New_York')).toBe('2026-01-10');
  });
});
