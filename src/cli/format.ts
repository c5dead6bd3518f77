import type { RunCounters, RunRow } from '../db/runs.ts';
import type { RunSummary } from '../jobs/runSync.ts';
import { printableText } from '../lib/printable.ts';

/** Error and note column width in `runs`. */
const NOTE_CHARS = 60;

/** Plain-text table: columns padded to their widest cell. */
export function formatTable(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n') + '\n';
}

export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '';
  if (ms < 1000) return `${ms} ms`;
  const s = ms / 1000;
  if (s < 120) return `${s.toFixed(1)} s`;
  return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

export function runsTable(runs: RunRow[]): string {
  return formatTable(
    [
      'id',
      'status',
      'trigger',
      'started (UTC)',
      'duration',
      'pages',
      'requests',
      '429s',
      'seen',
      'added',
      'changed',
      'removed',
      'rejected',
      'error / note',
    ],
    runs.map((r) => [
      String(r.id),
      r.status,
      r.trigger,
      r.startedAt.toISOString().slice(0, 19).replace('T', ' '),
      r.finishedAt ? formatDuration(r.finishedAt.getTime() - r.startedAt.getTime()) : '',
      String(r.pages),
      String(r.requests),
      String(r.rateLimited),
      String(r.devicesSeen),
      String(r.devicesAdded),
      String(r.devicesChanged),
      String(r.devicesRemoved),
      String(r.recordsRejected),
      // Notes and errors quote remote data (hwids, server text): escaped, and cut with "…" and the full length.
      r.errorCode ? `${r.errorCode}: ${printableText(r.error ?? '', NOTE_CHARS)}` : printableText(r.notes ?? '', NOTE_CHARS),
    ]),
  );
}

export function summaryText(s: RunSummary): string {
  const c = s.counters;
  const lines = [
    `run ${s.runId} ${s.status} in ${formatDuration(s.finishedAt.getTime() - s.startedAt.getTime())}`,
    `  devices seen ${c.devicesSeen}, added ${c.devicesAdded}, changed ${c.devicesChanged}, removed ${c.devicesRemoved}, rejected records ${c.recordsRejected}`,
    `  pages ${c.pages}, requests ${c.requests}, retries ${c.retries}, rate limited (429) ${c.rateLimited}, rate-limit wait ${formatDuration(c.rateLimitWaitMs)}`,
  ];
  if (s.resumed) lines.push(`  resumed run ${s.resumed.runId} from page ${s.resumed.page}`);
  if (s.notes) lines.push(`  note: ${s.notes}`);
  if (s.error) lines.push(`  error: ${s.errorCode}: ${s.error}`);
  return lines.join('\n') + '\n';
}

/** The one JSON shape of a run, for `sync --json`, `demo --json` and `runs --json` alike. */
export interface RunJson extends RunCounters {
  runId: number;
  status: string;
  trigger: string;
  startedAt: string;
  finishedAt: string | null;
  durationMs: number | null;
  notes: string | null;
  errorCode: string | null;
  error: string | null;
  resumedFrom: number | null;
  resumePage: number | null;
}

function runJson(r: Omit<RunJson, 'startedAt' | 'finishedAt' | 'durationMs'> & { startedAt: Date; finishedAt: Date | null }): RunJson {
  return {
    runId: r.runId,
    status: r.status,
    trigger: r.trigger,
    startedAt: r.startedAt.toISOString(),
    finishedAt: r.finishedAt?.toISOString() ?? null,
    durationMs: r.finishedAt ? r.finishedAt.getTime() - r.startedAt.getTime() : null,
    pages: r.pages,
    requests: r.requests,
    retries: r.retries,
    rateLimited: r.rateLimited,
    rateLimitWaitMs: r.rateLimitWaitMs,
    devicesSeen: r.devicesSeen,
    devicesAdded: r.devicesAdded,
    devicesChanged: r.devicesChanged,
    devicesRemoved: r.devicesRemoved,
    recordsRejected: r.recordsRejected,
    notes: r.notes,
    errorCode: r.errorCode,
    error: r.error,
    resumedFrom: r.resumedFrom,
    resumePage: r.resumePage,
  };
}

export function summaryJson(s: RunSummary): RunJson {
  return runJson({
    ...s.counters,
    runId: s.runId,
    status: s.status,
    trigger: s.trigger,
    startedAt: s.startedAt,
    finishedAt: s.finishedAt,
    notes: s.notes,
    errorCode: s.errorCode,
    error: s.error,
    resumedFrom: s.resumed?.runId ?? null,
    resumePage: s.resumed?.page ?? null,
  });
}

export function rowJson(r: RunRow): RunJson {
  return runJson({ ...r, runId: r.id });
}
