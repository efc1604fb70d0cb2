// The HTML page as a string: self-contained (no URL to fetch), everything from the document
// escaped, the embedded JSON reads back exactly even when strings hold "</script>".
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { packageRoot } from '../../collectors/paths';
import { buildProfile } from '../../src/report/build';
import { formatBytesTick, niceBytesStep, niceStep, renderChart } from '../../src/report/charts';
import { escapeHtml, jsonForScript } from '../../src/report/escape';
import { renderHtml } from '../../src/report/html';
import { generate, IO_HEAVY, META } from './synthetic';

const HOSTILE = 'node app.js --name "</script><script>alert(1)</script>" <!-- \' & \u2028';

function hostileDoc() {
  const samples = generate({ ...IO_HEAVY, seed: 3, withLoop: true, withGc: true });
  for (const s of samples) if (s.gc?.length) s.gc[0] = { kind: '<img src=x onerror=alert(1)>', durationS: 0.002 };
  return buildProfile(samples, {
    ...META,
    target: { ...META.target, command: HOSTILE, runtimeVersion: '<b>v20</b>' },
    warnings: ['<script>warn()</script>'],
  });
}

test('nothing from the document becomes markup', () => {
  const html = renderHtml(hostileDoc());
  assert.ok(!html.includes('<script>alert(1)'), 'command line escaped');
  assert.ok(!html.includes('<img src=x'), 'gc kind escaped');
  assert.ok(!html.includes('<b>v20</b>'), 'runtime version escaped');
  assert.ok(!html.includes('<script>warn()'), 'warnings escaped');
  assert.equal(html.match(/<script/g)?.length, 2, 'only our JSON block and our one script');
  assert.ok(html.includes(escapeHtml(HOSTILE)));
});

test('the embedded JSON cannot end its script block and parses back to the document', () => {
  const doc = hostileDoc();
  const html = renderHtml(doc);
  const match = /<script type="application\/json" id="rtprof-data">([\s\S]*?)<\/script>/.exec(html);
  assert.ok(match?.[1]);
  assert.ok(!/<\/script|<!--/i.test(match[1]));
  assert.deepEqual(JSON.parse(match[1]), JSON.parse(JSON.stringify(doc)));
  assert.equal(JSON.parse(jsonForScript({ s: '</script>\u2028&' })).s, '</script>\u2028&');
});

test('self-contained: no URL to fetch, and a CSP that allows only our inline script by hash', () => {
  const html = renderHtml(hostileDoc());
  assert.ok(!/(src|href)=["']?(https?:)?\/\//i.test(html), 'no external src/href');
  const css = /<style>([\s\S]*?)<\/style>/.exec(html)?.[1] ?? '';
  assert.ok(css.length > 0 && !/@import|url\(/i.test(css), 'no CSS fetches');
  const csp = /http-equiv="Content-Security-Policy" content="([^"]+)"/.exec(html)?.[1] ?? '';
  assert.match(csp, /default-src 'none'/);
  const script = /<script>([\s\S]*?)<\/script>/.exec(html)?.[1] ?? '';
  const hash = createHash('sha256').update(script).digest('base64');
  assert.ok(csp.includes(`'sha256-${hash}'`), 'the CSP hash matches the inline script');
});

test('verdict on top, five charts, placeholders when there is no probe', () => {
  const html = renderHtml(buildProfile(generate({ ...IO_HEAVY, seed: 3, withLoop: true, withGc: true }), META));
  assert.ok(html.indexOf('class="verdict') < html.indexOf('<svg'));
  assert.equal(html.match(/<svg class="chart"/g)?.length, 5);
  const bare = renderHtml(buildProfile(generate({ ...IO_HEAVY, seed: 3, evidence: 'none' }), META));
  assert.equal(bare.match(/<svg class="chart"/g)?.length, 3);
  assert.match(bare, /No event-loop data/);
  assert.match(bare, /No GC data/);
});

test('charts: nice axis steps, lines break at missing values, bars span intervals', () => {
  assert.deepEqual([niceStep(10), niceStep(0.8), niceStep(1), niceStep(3000)], [5, 0.2, 0.5, 1000]);
  const MIB = 2 ** 20;
  assert.equal(niceBytesStep(1.8 * MIB, 52 * MIB), 0.5 * MIB);
  assert.equal(formatBytesTick(49.5 * MIB, 0.5 * MIB, 53 * MIB), '49.5 MiB');
  assert.equal(formatBytesTick(50.05 * MIB, 0.05 * MIB, 53 * MIB), '50.05 MiB');
  assert.equal(formatBytesTick(2 * 2 ** 30, 2 ** 30, 4 * 2 ** 30), '2 GiB');
  const svg = renderChart({
    id: 't',
    title: 't',
    xs: [1, 2, 3, 4],
    widths: [1, 1, 1, 1],
    kind: 'line',
    formatY: String,
    series: [{ name: 'a', color: '#000', values: [1, null, 2, 3] }],
  });
  const d = /<path class="series"[^>]* d="([^"]*)"/.exec(svg)?.[1] ?? '';
  assert.equal(d.match(/M/g)?.length, 2, 'a gap starts a new subpath');
  const bars = renderChart({
    id: 'b',
    title: 'b',
    xs: [1, 2],
    widths: [1, 1],
    kind: 'stacked',
    yMax: 1,
    formatY: String,
    series: [
      { name: 'x', color: '#000', values: [0.5, 0.5] },
      { name: 'y', color: '#111', values: [0.5, 0] },
    ],
  });
  assert.equal(bars.match(/Z/g)?.length, 3, 'one rectangle per non-zero value');
});

test('the footer names the rtprof package version, sizes are MiB, counts agree with their nouns', () => {
  const { version } = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string };
  const samples = generate({ ...IO_HEAVY, seed: 3, withLoop: true, withGc: true });
  for (const s of samples) s.gc = [];
  samples[2]!.gc = [{ kind: 'minor', durationS: 0.002 }];
  const html = renderHtml(buildProfile(samples, META));
  assert.match(html, new RegExp(`<footer>.*· rtprof ${version.replace(/\./g, '\\.')}</footer>`));
  assert.match(html, /<div class="value">1 pause<\/div>/);
  assert.match(html, /MiB/);
  assert.doesNotMatch(html.replace(/<script[\s\S]*?<\/script>/g, ''), /\b[KMG]B\b/);
});
