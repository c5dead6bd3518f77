/**
 * The report as one self-contained HTML page: the chart library's code is inlined (the caller
 * passes it in), so the page opens with no network. Hostnames and OS names come from devices and
 * are untrusted: markup gets them HTML-escaped, the charts get them as JSON data (drawn on a
 * canvas as text), and a Content-Security-Policy allows only this page's own two scripts, by
 * hash — so even a string that slipped through could not run or load anything.
 */
import { createHash } from 'node:crypto';
import { PAGE_SCRIPT, STYLE } from './htmlAssets.ts';
import type { Report } from './model.ts';
import { daysFrom, formatTime } from './period.ts';

export interface ChartLibrary {
  /** The library's browser (UMD) build, defining the global `Chart`. */
  source: string;
  name: string;
  version: string;
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

/** JSON inside <script type="application/json">: no `<` at all, so no `</script>` can end it early. */
function jsonForScript(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/** Library code made safe to inline: nothing that closes the element, no source map to fetch. */
function inlineScript(source: string): string {
  return source.replace(/^\/\/# sourceMappingURL=.*$/gm, '').replace(/<\/(script)/gi, '<\\/$1');
}

function sha256(text: string): string {
  return `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
}

const pctText = (p: number | null) => (p === null ? '–' : `${p.toFixed(1)}%`);
const osLabel = (os: string | null) => (os === null ? '(no OS reported)' : os);

/** What the page script draws: one slot per day of the period, null where no run succeeded. */
/** The data the page script charts, embedded in the page as JSON. */
export type ChartData = ReturnType<typeof chartData>;

function chartData(r: Report) {
  const byDay = new Map(r.trend.map((p) => [p.day, p]));
  const days = daysFrom(r.period.from, r.period.to);
  const series = (pick: (p: Report['trend'][number]) => number | null) => days.map((d) => (byDay.has(d) ? pick(byDay.get(d)!) : null));
  const os = [...r.os.map((o) => ({ label: osLabel(o.os), devices: o.devices, pct: o.pct }))];
  if (r.osOther) os.push({ label: `other (${r.osOther.names} names)`, devices: r.osOther.devices, pct: r.osOther.pct });
  return {
    timezone: r.timezone,
    trendTitle: `Devices by compliance status and compliant %, ${r.period.from} to ${r.period.to}`,
    trend: {
      days,
      devices: series((p) => p.devices),
      compliant: series((p) => p.compliant),
      nonCompliant: series((p) => p.nonCompliant),
      inProgress: series((p) => p.inProgress),
      compliantPct: series((p) => p.compliantPct),
    },
    os: { labels: os.map((o) => o.label), devices: os.map((o) => o.devices), pct: os.map((o) => o.pct), hasOther: r.osOther !== null },
  };
}

function cards(r: Report): string {
  const s = r.summary;
  const card = (cls: string, label: string, n: number, p?: number | null) =>
    `<div class="card ${cls}"><div class="label">${label}</div><div class="value">${n}</div>${p === undefined ? '' : `<div class="pct">${pctText(p)}</div>`}</div>`;
  return `<section class="cards" id="summary">
${card('', 'Devices present', s.devices)}
${card('ok', 'Compliant', s.compliant, s.percent.compliant)}
${card('bad', 'Non-compliant', s.nonCompliant, s.percent.nonCompliant)}
${card('wait', 'Still reporting', s.inProgress, s.percent.inProgress)}
${card('bad', 'Critical', s.critical, s.percent.critical)}
${card('', 'Exempt', s.exempt, s.percent.exempt)}
${card('', 'Active (connected)', s.active, s.percent.active)}
</section>`;
}

function trendTable(r: Report): string {
  if (r.trend.length === 0) return `<p class="empty">No succeeded run in the last ${r.period.days} days.</p>`;
  const rows = r.trend.map(
    (p) =>
      `<tr><td>${p.day}</td><td class="num">${p.devices}</td><td class="num">${p.compliant}</td><td class="num">${p.nonCompliant}</td><td class="num">${p.inProgress}</td><td class="num">${p.critical}</td><td class="num">${pctText(p.compliantPct)}</td></tr>`,
  );
  return `<details><summary>The figures (days with a succeeded run)</summary>
<table id="trend-table"><thead><tr><th>Day</th><th class="num">Devices</th><th class="num">Compliant</th><th class="num">Non-compliant</th><th class="num">Still reporting</th><th class="num">Critical</th><th class="num">Compliant %</th></tr></thead>
<tbody>${rows.join('\n')}</tbody></table></details>`;
}

function longestTable(r: Report): string {
  if (r.longestNonCompliant.length === 0) return '<p class="empty">No device is non-compliant.</p>';
  const rows = r.longestNonCompliant.map(
    (d) =>
      `<tr><td>${d.hostname === null ? '<span class="empty">(none)</span>' : escapeHtml(d.hostname)}</td>`
      + `<td class="mono">${escapeHtml(d.hwid)}</td><td>${escapeHtml(formatTime(new Date(d.since), r.timezone))}</td><td class="num">${d.days}${d.sinceHistoryStart ? '+' : ''}</td></tr>`,
  );
  return `<table id="longest-table"><thead><tr><th>Hostname</th><th>Hardware ID</th><th>Non-compliant since (${escapeHtml(r.timezone)})</th><th class="num">Days</th></tr></thead>
<tbody>${rows.join('\n')}</tbody></table>${
    r.longestNonCompliant.some((d) => d.sinceHistoryStart)
      ? '\n<p class="empty">+ non-compliant since the history began: at least that long.</p>'
      : ''
  }`;
}

function trendLabel(r: Report): string {
  const last = r.trend.at(-1);
  const tail = last
    ? `; on ${last.day} ${pctText(last.compliantPct)} of ${last.devices} devices were compliant`
    : '; no succeeded run in the period';
  return `Compliance trend from ${r.period.from} to ${r.period.to}${tail}`;
}

export function renderHtml(r: Report, library: ChartLibrary): string {
  const chartJs = inlineScript(library.source);
  const csp = `default-src 'none'; script-src ${sha256(chartJs)} ${sha256(PAGE_SCRIPT)}; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'`;
  const generated = formatTime(new Date(r.generatedAt), r.timezone);
  const lastRun = r.lastRun ? `run ${r.lastRun.id}, finished ${formatTime(new Date(r.lastRun.finishedAt), r.timezone)}` : 'none yet';
  const nc = r.summary.nonCompliant;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>MetaAccess compliance report, ${escapeHtml(generated)} ${escapeHtml(r.timezone)}</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>MetaAccess compliance report</h1>
<p class="meta">Database <b>${escapeHtml(r.database)}</b> · generated <b>${escapeHtml(generated)}</b> (${escapeHtml(r.timezone)}) · last succeeded: <b>${escapeHtml(lastRun)}</b></p>
</header>
${cards(r)}
<section id="trend">
<h2>Compliance, last ${r.period.days} days</h2>
<div class="chart"><canvas id="trend-chart" role="img" aria-label="${escapeHtml(trendLabel(r))}"></canvas></div>
${trendTable(r)}
</section>
<section id="os">
<h2>Operating systems</h2>
<div class="chart small"><canvas id="os-chart" role="img" aria-label="Devices present by operating system"></canvas></div>
</section>
<section id="longest">
<h2>Non-compliant longest (${r.longestNonCompliant.length} of ${nc})</h2>
${longestTable(r)}
</section>
<footer>Made by metaaccess-sync report. Days are calendar days in ${escapeHtml(r.timezone)}; a day's figures come from its last succeeded run. Charts drawn with ${escapeHtml(library.name)} ${escapeHtml(library.version)} (MIT), included in this file.</footer>
<script type="application/json" id="report-data">${jsonForScript(chartData(r))}</script>
<script>${chartJs}</script>
<script>${PAGE_SCRIPT}</script>
</body>
</html>
`;
}
