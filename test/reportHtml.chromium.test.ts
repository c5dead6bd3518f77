/**
 * The HTML report as a reader sees it: opened from disk in headless Chromium (Debian's package),
 * charts drawn by the inlined library, no network, no script error, no injected markup. A
 * screenshot is kept in test-artifacts/report.png.
 */
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.ts';
import { cleanUpAfterEach, harnessPerTest } from './helpers/harness.ts';
import { buildKnownHistory, HOSTILE, hwidOf } from './helpers/reportHistory.ts';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = new URL('../test-artifacts/', import.meta.url);

const t = harnessPerTest();
const cleanUp = cleanUpAfterEach();

async function launch(): Promise<Browser> {
  // Fail, not skip: a missing browser would otherwise leave the page untested without anyone noticing.
  expect(
    existsSync(CHROMIUM),
    `${CHROMIUM} is missing: install Debian's chromium package (apt-get install chromium), as .ci/run does`,
  ).toBe(true);
  const browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--headless=new'] });
  cleanUp(() => browser.close());
  return browser;
}

/** Evaluates an expression in the page (text: this project's types have no DOM). */
const inPage = <T = unknown>(page: Page, expression: string) => page.evaluate(expression) as Promise<T>;

/** How many pixels of the canvas have exactly this colour (a bar's fill). */
const countColour = (id: string, rgb: [number, number, number]) => `(() => {
  const c = document.getElementById(${JSON.stringify(id)});
  const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let n = 0;
  for (let i = 0; i < px.length; i += 4) if (px[i] === ${rgb[0]} && px[i + 1] === ${rgb[1]} && px[i + 2] === ${rgb[2]}) n++;
  return n;
})()`;

describe('report --html in Chromium', () => {
  it('draws the known trend and OS chart offline, escapes hostnames, and logs no error', async () => {
    const h = await t.start({ simulator: { devices: 1, seed: 113 } });
    await buildKnownHistory(h);
    const file = join(mkdtempSync(join(tmpdir(), 'metaaccess-report-')), 'report.html');
    const written = await runCli(['report', '--html', file, '--days', '7'], { DATABASE_URL: h.tdb.url });
    expect(written.code, written.stderr).toBe(0);
    expect(written.stdout).toMatch(/^wrote the HTML report \(\d+ bytes\) to .+report\.html\n$/);

    const browser = await launch();
    const page = await browser.newPage();
    await page.setViewport({ width: 1200, height: 900 });
    const problems: string[] = [];
    page.on('console', (m) => void (m.type() === 'error' && problems.push(`console: ${m.text()}`)));
    page.on('pageerror', (e) => void problems.push(`page error: ${(e as Error).message}`));
    page.on('request', (r) => void (r.url() !== pathToFileURL(file).href && problems.push(`request: ${r.url()}`)));
    await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
    await page.waitForSelector('body[data-charts="ready"]', { timeout: 10_000 });

    const trend = await inPage<{ labels: string[]; series: [string, (number | null)[]][]; width: number; height: number }>(
      page,
      `(() => {
      const chart = Chart.getChart('trend-chart');
      const box = document.getElementById('trend-chart').getBoundingClientRect();
      return { labels: chart.data.labels, series: chart.data.datasets.map((d) => [d.label, d.data]), width: box.width, height: box.height };
    })()`,
    );
    expect(trend.width).toBeGreaterThan(600);
    expect(trend.height).toBeGreaterThan(300);
    expect(trend.labels).toHaveLength(7);
    // Days 6, 4, 2 and 1 before today had runs (day 1's last run counts); 5, 3 and today did not.
    expect(trend.series).toEqual([
      ['Compliant', [7, null, 8, null, 8, 7, null]],
      ['Non-compliant', [3, null, 3, null, 3, 3, null]],
      ['Still reporting', [2, null, 1, null, 1, 1, null]],
      ['Compliant %', [58.3, null, 66.7, null, 66.7, 63.6, null]],
    ]);
    // The bars are on the canvas, in the series' colours.
    expect(await inPage<number>(page, countColour('trend-chart', [46, 125, 50]))).toBeGreaterThan(500);
    expect(await inPage<number>(page, countColour('trend-chart', [198, 40, 40]))).toBeGreaterThan(200);

    const os = await inPage(
      page,
      `(() => {
      const chart = Chart.getChart('os-chart');
      return { labels: chart.data.labels, devices: chart.data.datasets[0].data };
    })()`,
    );
    expect(os).toEqual({
      labels: ['Windows 11 Pro', 'macOS Sonoma', 'Windows 10 Pro', 'Android', 'iOS', '(no OS reported)'],
      devices: [4, 2, 2, 1, 1, 1],
    });

    const dom = await inPage<{ title: string; images: number; cards: string[][]; longest: string[][] }>(
      page,
      `({
      title: document.title,
      images: document.querySelectorAll('img').length,
      cards: [...document.querySelectorAll('#summary .card')].map((c) => [c.querySelector('.label').textContent, c.querySelector('.value').textContent]),
      longest: [...document.querySelectorAll('#longest-table tbody tr')].map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)),
    })`,
    );
    expect(dom.title).toMatch(/^MetaAccess compliance report, \d{4}-\d\d-\d\d \d\d:\d\d UTC$/);
    expect(dom.images).toBe(0);
    expect(dom.cards).toEqual([
      ['Devices present', '11'],
      ['Compliant', '7'],
      ['Non-compliant', '3'],
      ['Still reporting', '1'],
      ['Critical', '1'],
      ['Exempt', '1'],
      ['Active (connected)', '10'],
    ]);
    expect(dom.longest.map((cells) => cells[1])).toEqual([hwidOf('A'), hwidOf('B'), hwidOf('C')]);
    // The hostile hostname shows as the text it is.
    expect(dom.longest[1]![0]).toBe(HOSTILE);

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS.pathname, 'report.png'), fullPage: true });
    expect(problems).toEqual([]);
  });
});
