import type { DailyRow, ReportInput } from '../../src/report/model.ts';

export const HOSTILE_HOSTNAME = '<img src=x onerror=alert(1)>\x1b[31mRED\u202Eevil</script>';

function daily(day: string, runId: number, devices: number, compliant: number, nonCompliant: number, inProgress: number): DailyRow {
  return {
    day,
    runId,
    capturedAt: new Date(`${day}T02:30:00Z`),
    devices,
    compliant,
    nonCompliant,
    inProgress,
    critical: 3,
    exempt: 1,
    active: devices - 2,
  };
}

/** A week of history ending 2026-03-10, with a day without a run (03-07) and a day before the period. */
export function sampleInput(overrides: Partial<ReportInput> = {}): ReportInput {
  return {
    database: 'PostgreSQL (DATABASE_URL)',
    generatedAt: new Date('2026-03-10T12:00:00Z'),
    timezone: 'UTC',
    days: 7,
    top: 3,
    lastRun: { id: 9, finishedAt: new Date('2026-03-10T02:30:00Z') },
    current: { devices: 40, compliant: 30, nonCompliant: 7, inProgress: 3, critical: 4, exempt: 1, active: 38 },
    daily: [
      daily('2026-03-10', 9, 40, 30, 7, 3),
      daily('2026-03-04', 3, 36, 18, 12, 6),
      daily('2026-03-01', 1, 30, 10, 20, 0),
      daily('2026-03-06', 5, 38, 24, 10, 4),
      daily('2026-03-05', 4, 37, 20, 12, 5),
      daily('2026-03-08', 7, 40, 28, 9, 3),
      daily('2026-03-09', 8, 40, 29, 8, 3),
    ],
    os: [
      { os: 'Windows 11 Enterprise', devices: 15 },
      { os: 'macOS Sonoma', devices: 8 },
      { os: null, devices: 2 },
      { os: 'Ubuntu 22.04', devices: 8 },
      { os: 'Android', devices: 4 },
      { os: 'iOS', devices: 3 },
    ],
    longest: [
      {
        hwid: 'A1B2C3D4E5F60718293A4B5C6D7E8F90-LONGER-THAN-THE-COLUMN',
        hostname: 'finance-laptop-with-a-very-long-name',
        since: new Date('2026-02-01T02:30:00Z'),
      },
      { hwid: 'HW-2', hostname: HOSTILE_HOSTNAME, since: new Date('2026-03-04T02:30:00Z') },
      { hwid: 'HW-3', hostname: null, since: new Date('2026-03-09T14:00:00Z') },
    ],
    ...overrides,
  };
}
