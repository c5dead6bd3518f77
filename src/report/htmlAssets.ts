/**
 * The fixed parts of the HTML report: its stylesheet and the script that draws the charts from
 * the page's JSON data block. Constant text, so the Content-Security-Policy can name the script
 * by its hash; the data never becomes code.
 */

export const STYLE = `
:root { --ok: #2e7d32; --bad: #c62828; --wait: #f9a825; --line: #1565c0; --ink: #1d2430; --muted: #5b6473; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 1100px; padding: 24px; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: #f6f7f9; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 0 0 12px; }
section { background: #fff; border: 1px solid #e1e4ea; border-radius: 8px; padding: 16px 20px; margin: 16px 0; }
.meta { color: var(--muted); margin: 0; }
.meta b { color: var(--ink); font-weight: 600; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(140px, 1fr)); gap: 12px; background: none; border: 0; padding: 0; }
.card { background: #fff; border: 1px solid #e1e4ea; border-radius: 8px; padding: 12px 14px; border-top: 4px solid #9aa3b2; }
.card .label { color: var(--muted); font-size: 13px; }
.card .value { font-size: 26px; font-weight: 650; }
.card .pct { color: var(--muted); }
.card.ok { border-top-color: var(--ok); } .card.bad { border-top-color: var(--bad); } .card.wait { border-top-color: var(--wait); }
.chart { position: relative; height: 380px; }
.chart.small { height: 320px; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid #eceef2; }
td.num, th.num { text-align: right; }
td.mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 13px; word-break: break-all; }
details { margin-top: 12px; }
summary { cursor: pointer; color: var(--muted); }
.empty { color: var(--muted); font-style: italic; }
footer { color: var(--muted); font-size: 13px; margin: 24px 0; }
`;

/** Reads #report-data and draws both charts; marks <body data-charts="ready"> once they exist. */
export const PAGE_SCRIPT = `(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('report-data').textContent);
  // A report is read, not watched: no animation, so a printout or screenshot shows the final chart.
  Chart.defaults.animation = false;
  Chart.defaults.font.family = 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
  var t = data.trend;
  function share(i) { return t.devices[i] ? ' (' + (Math.round(1000 * this[i] / t.devices[i]) / 10) + '%)' : ''; }
  var known = t.compliantPct.filter(function (v) { return v !== null; });
  var pctRange = known.length
    ? [Math.max(0, Math.floor(Math.min.apply(null, known) / 10) * 10 - 10), Math.min(100, Math.ceil(Math.max.apply(null, known) / 10) * 10 + 10)]
    : [0, 100];
  function bar(label, values, colour) {
    return { type: 'bar', label: label, data: values, backgroundColor: colour, stack: 'devices', yAxisID: 'y', order: 2 };
  }
  new Chart(document.getElementById('trend-chart'), {
    type: 'bar',
    data: {
      labels: t.days,
      datasets: [
        bar('Compliant', t.compliant, '#2e7d32'),
        bar('Non-compliant', t.nonCompliant, '#c62828'),
        bar('Still reporting', t.inProgress, '#f9a825'),
        { type: 'line', label: 'Compliant %', data: t.compliantPct, yAxisID: 'pct', order: 1, borderColor: '#1565c0',
          backgroundColor: '#1565c0', borderWidth: 2, pointRadius: 3, spanGaps: false, tension: 0 }
      ]
    },
    options: {
      responsive: true, maintainAspectRatio: false, interaction: { mode: 'index', intersect: false },
      plugins: {
        title: { display: true, text: data.trendTitle, font: { size: 15 } },
        legend: { position: 'bottom' },
        tooltip: { callbacks: { label: function (c) {
          if (c.raw === null) return c.dataset.label + ': no run';
          if (c.dataset.yAxisID === 'pct') return c.dataset.label + ': ' + c.raw + '%';
          return c.dataset.label + ': ' + c.raw + share.call(c.dataset.data, c.dataIndex);
        } } }
      },
      scales: {
        x: { stacked: true, title: { display: true, text: 'Day (' + data.timezone + ')' } },
        y: { stacked: true, beginAtZero: true, title: { display: true, text: 'Devices present' }, ticks: { precision: 0 } },
        // The % axis spans the period's own range (in steps of 10), so a drift of a few points shows.
        pct: { position: 'right', min: pctRange[0], max: pctRange[1], grid: { drawOnChartArea: false },
          title: { display: true, text: 'Compliant %' }, ticks: { callback: function (v) { return v + '%'; } } }
      }
    }
  });
  new Chart(document.getElementById('os-chart'), {
    type: 'bar',
    data: { labels: data.os.labels, datasets: [{ label: 'Devices', data: data.os.devices, backgroundColor: data.os.labels.map(function (l, i) {
      return data.os.hasOther && i === data.os.labels.length - 1 ? '#9aa3b2' : '#5c6bc0';
    }) }] },
    options: {
      indexAxis: 'y', responsive: true, maintainAspectRatio: false,
      plugins: {
        title: { display: true, text: 'Operating systems of the devices present', font: { size: 15 } },
        legend: { display: false },
        tooltip: { callbacks: { label: function (c) {
          var p = data.os.pct[c.dataIndex];
          return c.raw + ' devices' + (p === null ? '' : ' (' + p + '%)');
        } } }
      },
      scales: { x: { beginAtZero: true, title: { display: true, text: 'Devices' }, ticks: { precision: 0 } } }
    }
  });
  document.body.setAttribute('data-charts', 'ready');
})();
`;
