import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { HOSTILE_HOSTNAME, sampleInput } from '../../test/helpers/reportFixture.ts';
import { toReport } from './model.ts';
import { escapeHtml, renderHtml, type ChartData } from './renderHtml.ts';

const library = {
  name: 'Chart.js',
  version: '9.9.9',
  source: 'window.Chart=function(){};/*"</script><b>*/\n//# sourceMappingURL=chart.umd.min.js.map\n',
};
const html = renderHtml(toReport(sampleInput()), library);

/** The text of every inline <script> element, and its type attribute. */
function scripts(page: string): { type: string | undefined; text: string }[] {
  return [...page.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)].map((m) => ({ type: /type="([^"]+)"/.exec(m[1]!)?.[1], text: m[2]! }));
}

describe('renderHtml', () => {
  it('escapes hostnames in markup and keeps them out of script code', () => {
    expect(html).not.toContain('<img');
    expect(html).toContain(escapeHtml(HOSTILE_HOSTNAME));
    expect(escapeHtml(`<a href="x" title='y'>&`)).toBe('&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;');
    // Three script elements: the data, the library, the page script. A `</script>` in data or library ends none early.
    const found = scripts(html);
    expect(found.map((s) => s.type)).toEqual(['application/json', undefined, undefined]);
    expect(found[0]!.text).not.toContain('<');
  });

  it('puts OS names into the chart data as JSON that reads back exactly', () => {
    const evil = '</script><script>alert(1)</script>\u2028';
    const page = renderHtml(toReport(sampleInput({ os: [{ os: evil, devices: 40 }] })), library);
    const data = JSON.parse(scripts(page)[0]!.text) as ChartData;
    expect(data.os).toEqual({ labels: [evil], devices: [40], pct: [100], hasOther: false });
    expect(page).not.toContain('<script>alert(1)');
  });

  it('allows only its own two scripts, by hash, and loads nothing from anywhere', () => {
    const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(html)![1]!;
    const hashes = [...csp.matchAll(/'sha256-([^']+)'/g)].map((m) => m[1]);
    const code = scripts(html)
      .filter((s) => s.type === undefined)
      .map((s) => createHash('sha256').update(s.text).digest('base64'));
    expect(hashes).toEqual(code);
    expect(csp).toContain("default-src 'none'");
    // No element with a src or href (the hostile hostname's `src=` is text, after an escaped `<`).
    expect(html).not.toMatch(/<[a-z][^<>]*\s(src|href)=/i);
    expect(html).not.toContain('sourceMappingURL');
    expect(html).toContain('window.Chart=function(){};');
  });

  it('one slot per day of the period for the charts, null where no run succeeded', () => {
    const data = JSON.parse(scripts(html)[0]!.text) as ChartData;
    expect(data.trend.days).toEqual(['2026-03-04', '2026-03-05', '2026-03-06', '2026-03-07', '2026-03-08', '2026-03-09', '2026-03-10']);
    expect(data.trend.compliant).toEqual([18, 20, 24, null, 28, 29, 30]);
    expect(data.trend.compliantPct).toEqual([50, 54.1, 63.2, null, 70, 72.5, 75]);
    expect(data.os.labels).toEqual(['Windows 11 Enterprise', 'macOS Sonoma', 'Ubuntu 22.04', 'other (3 names)']);
  });

  it('shows the summary figures, the database and the longest non-compliant table', () => {
    expect(html).toContain('<title>MetaAccess compliance report, 2026-03-10 12:00 UTC</title>');
    expect(html).toContain('<div class="label">Non-compliant</div><div class="value">7</div><div class="pct">17.5%</div>');
    expect(html).toContain('Database <b>PostgreSQL (DATABASE_URL)</b>');
    expect(html).toContain('<td class="mono">HW-3</td><td>2026-03-09 14:00</td><td class="num">0</td>');
  });
});
