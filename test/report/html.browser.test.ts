// The HTML report in real headless Chromium: it loads with no console error, asks the network
// for nothing, runs its script under its own CSP, and every chart has drawn.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { buildProfile } from '../../src/report/build';
import { renderHtml } from '../../src/report/html';
import type { ProfileDocument } from '../../src/report/model';
import { generate, IO_HEAVY, META } from './synthetic';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];
// Locally a missing browser skips; in CI (which installs it) it must fail loudly instead.
const skip = !existsSync(CHROMIUM) && !process.env.CI ? `${CHROMIUM} missing: apt-get install -y chromium` : false;

let browser: Browser | undefined;
const dir = mkdtempSync(join(tmpdir(), 'rtprof-html-'));

before(async () => {
  if (!skip) browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
});
after(async () => {
  await browser?.close();
  rmSync(dir, { recursive: true, force: true });
});

interface PageReport {
  errors: string[];
  requests: string[];
  charts: Array<{ chart: string; paths: number; drawn: number; width: number }>;
  embedded: unknown;
}

async function load(doc: ProfileDocument, name: string, screenshot?: string): Promise<PageReport> {
  assert.ok(browser, 'browser launched');
  const file = join(dir, `${name}.html`);
  writeFileSync(file, renderHtml(doc));
  const url = pathToFileURL(file).href;
  const page = await browser.newPage({ viewport: { width: 1000, height: 900 } });
  const errors: string[] = [];
  const requests: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') errors.push(`${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('requestfailed', (r) => errors.push(`requestfailed: ${r.url()}`));
  page.on('request', (r) => {
    if (r.url() !== url) requests.push(r.url());
  });
  await page.goto(url, { waitUntil: 'load' });
  const charts = await page.$$eval('svg.chart', (svgs) =>
    svgs.map((svg) => {
      const paths = [...svg.querySelectorAll('path.series')];
      // Drawn = a path with geometry whose rendered box is not empty.
      const drawn = paths.filter((p) => {
        const box = (p as SVGGraphicsElement).getBBox();
        return (p.getAttribute('d') ?? '').length > 0 && (box.width > 0 || box.height > 0);
      }).length;
      return { chart: svg.getAttribute('data-chart') ?? '?', paths: paths.length, drawn, width: svg.getBoundingClientRect().width };
    }),
  );
  const embedded = await page.evaluate(() => (window as unknown as { rtprofProfile?: unknown }).rtprofProfile ?? null);
  if (screenshot) await page.screenshot({ path: screenshot, fullPage: true });
  await page.close();
  return { errors, requests, charts, embedded };
}

test('a full profile page: no console error, no network, all five charts drawn', { skip }, async () => {
  const samples = generate({ ...IO_HEAVY, seed: 21, intervals: 60, withLoop: true, withGc: true, rssGrowthBytesPerS: 40_000 });
  const doc = buildProfile(samples, {
    ...META,
    target: { ...META.target, command: 'node server.js --name "</script><script>alert(1)</script>"' },
    load: { requests: 59000, rps: 983, latencyS: { p50: 0.061, p99: 0.081, max: 0.2 }, errors: 0 },
  });
  const report = await load(doc, 'full', '/tmp/rtprof-report.png');
  assert.deepEqual(report.errors, []);
  assert.deepEqual(report.requests, []);
  assert.deepEqual(
    report.charts.map((c) => c.chart),
    ['cpu', 'rss', 'loop', 'gc', 'breakdown'],
  );
  for (const c of report.charts) {
    assert.ok(c.width > 300, `${c.chart} is laid out (${c.width}px)`);
    assert.ok(c.drawn > 0, `${c.chart} drew ${c.drawn} of ${c.paths} series`);
  }
  const byName = Object.fromEntries(report.charts.map((c) => [c.chart, c]));
  assert.equal(byName.loop?.drawn, 2, 'p99 and max lines');
  assert.equal(byName.breakdown?.drawn, 3, 'cpu, io and idle layers (the others are zero)');
  assert.deepEqual(report.embedded, JSON.parse(JSON.stringify(doc)), 'the script read the embedded JSON back whole');
});

test('a /proc-only profile: the three charts it can have draw, the rest say why not', { skip }, async () => {
  const doc = buildProfile(generate({ ...IO_HEAVY, seed: 22, evidence: 'none' }), {
    ...META,
    target: { pid: 7, runtime: 'other', runtimeVersion: null, command: '/usr/bin/some-daemon', attach: 'none' },
    targetExited: true,
  });
  const report = await load(doc, 'proc-only');
  assert.deepEqual(report.errors, []);
  assert.deepEqual(report.requests, []);
  assert.deepEqual(
    report.charts.map((c) => c.chart),
    ['cpu', 'rss', 'breakdown'],
  );
  for (const c of report.charts) assert.ok(c.drawn > 0, `${c.chart} drew`);
});
