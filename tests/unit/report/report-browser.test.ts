// Renders a report from a realistic fixture, opens it in real headless Chromium and checks that it
// renders without errors, fetches nothing, and that every chart holds the data it was given.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { renderReport } from '../../../report/render';
import { histogram } from '../../../report/charts';
import { chromiumPath } from './chromium';
import { minimalReport } from './minimal-fixture';
import { reportFixture } from './report-fixture';

const OUT = path.resolve('test-results');
let browser: Browser;

before(async () => {
  browser = await chromium.launch({ executablePath: chromiumPath(), args: ['--no-sandbox'] });
});
after(() => browser?.close());

interface ChartReadBack {
  id: string;
  type: string;
  datasets: { label: string; data: unknown[] }[];
  paintedPixels: number;
}

/** Writes the HTML, opens it with network access cut off, and reads every chart back from Chart.js. */
async function openReport(html: string, name: string) {
  await mkdir(OUT, { recursive: true });
  const file = path.join(OUT, `${name}.html`);
  await writeFile(file, html);

  const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1 });
  const errors: string[] = [];
  const requests: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') errors.push(`console.${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  await page.route('**/*', (route) => {
    const url = route.request().url();
    if (url === pathToFileURL(file).href) return route.continue();
    requests.push(url);
    return route.abort();
  });
  await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
  const charts = await page.evaluate(() => {
    // Runs in the page; the project's TypeScript has no DOM lib, so the shapes are spelled out.
    type Canvas = {
      id: string;
      width: number;
      height: number;
      getContext(kind: '2d'): {
        getImageData(x: number, y: number, w: number, h: number): { data: ArrayLike<number> };
      };
    };
    const Chart = (globalThis as unknown as { Chart: { instances: Record<string, unknown> } }).Chart;
    return Object.values(Chart.instances).map((raw) => {
      const c = raw as {
        canvas: Canvas;
        config: { type: string };
        data: { datasets: { label: string; data: unknown[] }[] };
      };
      const ctx = c.canvas.getContext('2d');
      const pixels = ctx.getImageData(0, 0, c.canvas.width, c.canvas.height).data;
      let painted = 0;
      for (let i = 3; i < pixels.length; i += 4) if (pixels[i]! > 0) painted++;
      return {
        id: c.canvas.id,
        type: c.config.type,
        datasets: c.data.datasets.map((d) => ({ label: d.label, data: d.data })),
        paintedPixels: painted,
      };
    });
  });
  return { page, errors, requests, charts: charts as ChartReadBack[] };
}

function assertChartsHaveData(charts: ChartReadBack[]) {
  for (const c of charts) {
    const points = c.datasets.reduce((n, d) => n + d.data.filter((v) => v !== null).length, 0);
    assert.ok(points > 0, `${c.id} has data points`);
    assert.ok(c.paintedPixels > 2000, `${c.id} painted ${c.paintedPixels} pixels`);
  }
}

test('the report renders in Chromium with every chart drawn from the data', async () => {
  const data = reportFixture();
  const { page, errors, requests, charts } = await openReport(renderReport(data), 'report');
  await page.screenshot({ path: path.join(OUT, 'report.png'), fullPage: true });

  assert.deepEqual(errors, [], 'no console errors or warnings');
  assert.deepEqual(requests, [], 'the report is self-contained: no network requests');

  const byId = new Map<string, ChartReadBack>(charts.map((c) => [c.id, c]));
  const canvases = await page.locator('canvas').count();
  // Figure 2 (2 metrics) + Figure 3 (3 judges x 2 metrics, and a density per judge) + curation + spend + 3
  // break-even scenarios.
  assert.equal(canvases, 16);
  assert.equal(charts.length, canvases, 'every canvas has a chart');
  assertChartsHaveData(charts);

  // Figure 2 reads back the fixture's per-cycle means for each judge.
  const precision = byId.get('fig-score-precision')!;
  for (const judge of ['gpt-4o', 'claude-3-5-sonnet', 'gemini-1.5-flash']) {
    const line = precision.datasets.find((d) => d.label === judge)!;
    assert.deepEqual(
      line.data,
      data.cycles.map((c) => c.evaluation.judges.find((j) => j.judge === judge)!.precision.mean),
    );
  }
  assert.ok(
    precision.datasets.some((d) => d.label.includes('(teacher)')),
    'teacher reference lines drawn',
  );

  // Figure 3's density of precision against similarity: first cycle, latest cycle and teacher per judge
  const density = byId.get('fig-density-0')!;
  assert.deepEqual(
    density.datasets.map((d) => d.label.replace(/ \(\d+ samples\)$/, '')),
    ['cycle 0 · 0 synthetic', 'cycle 3 · 4k synthetic', 'gpt-4o (teacher)'],
  );

  // Figure 3: each histogram series covers all samples (shares sum to 100%) and matches the scores.
  const dist = byId.get('fig-dist-0')!;
  assert.deepEqual(
    dist.datasets.map((d) => d.label),
    ['cycle 0 · 0 synthetic', 'cycle 3 · 4k synthetic', 'gpt-4o (teacher)'],
  );
  for (const d of dist.datasets)
    assert.ok(Math.abs((d.data as number[]).reduce((s, x) => s + x, 0) - 100) < 0.1);
  const firstScores = data.distributions.find(
    (d) => d.judge === 'gpt-4o' && d.metric === 'precision' && d.subject === 0,
  )!.scores;
  assert.deepEqual(
    dist.datasets[0]!.data,
    histogram(firstScores).map((n) => +((100 * n) / firstScores.length).toFixed(2)),
  );

  // Curation: accepted + drops per synthesis add up to what was generated.
  const curation = byId.get('fig-curation')!;
  data.cycles
    .filter((c) => c.synthesis)
    .forEach((c, i) => {
      const total = curation.datasets.reduce((s, d) => s + (d.data[i] as number), 0);
      assert.equal(total, c.synthesis!.generated, `synthesis after cycle ${c.cycle}`);
    });

  // Curation details: every drop reason with its count; example pairs with the template greyed out.
  const details = page.locator('.curation-details[data-cycle="0"]');
  const drops0 = data.cycles[0]!.synthesis!.drops;
  assert.equal(await details.locator('details.drop-reason').count(), Object.keys(drops0).length);
  for (const [reason, n] of Object.entries(drops0))
    assert.match(
      (await details.locator(`details[data-reason="${reason}"] summary`).textContent()) ?? '',
      new RegExp(`${reason}: ${n} dropped`),
    );
  await details.locator('details[data-reason="near-duplicate"] summary').click();
  const pair = details.locator('details[data-reason="near-duplicate"] .pair').first();
  assert.ok(await pair.isVisible());
  assert.match((await pair.textContent()) ?? '', /matched sample \(similarity 0\.91\)/);
  const grey = pair.locator('.prompt .tpl').first();
  assert.match((await grey.textContent()) ?? '', /You are Ava/);
  const colour = (sel: ReturnType<typeof page.locator>) =>
    sel.evaluate(
      (el) =>
        (globalThis as unknown as { getComputedStyle(e: unknown): { color: string } }).getComputedStyle(el)
          .color,
    );
  assert.equal(await colour(grey), 'rgb(160, 160, 160)');
  assert.notEqual(await colour(pair.locator('.prompt').first()), 'rgb(160, 160, 160)');
  assert.match((await details.locator('table.templates').textContent()) ?? '', /support.*240.*238.*88%/s);
  assert.match((await details.locator('.note').first().textContent()) ?? '', /calibrated.*0\.86/);

  // Break-even: a marker where API spend passes local spend.
  const evenMarker = byId.get('fig-break-even-1')!.datasets.find((d) => d.label.startsWith('break-even'))!;
  assert.match(evenMarker.label, /1\.7 months/); // paper light workload: 3339 / 1920

  // Table 1: teacher row, one row per cycle, the matching row.
  assert.equal(await page.locator('table.judges tbody tr').count(), 1 + data.cycles.length + 1);
  assert.match((await page.locator('table.judges tr.matching').textContent()) ?? '', /%/);
  await page.close();
});

test('an early report (one cycle, one judge, nothing else yet) renders cleanly too', async () => {
  const { page, errors, requests, charts } = await openReport(renderReport(minimalReport()), 'report-early');
  assert.deepEqual(errors, []);
  assert.deepEqual(requests, []);
  // Figure 2 (2 metrics) + one histogram + one break-even scenario; no curation or spend charts.
  assert.deepEqual(charts.map((c) => c.id).sort(), [
    'fig-break-even-0',
    'fig-dist-0',
    'fig-score-precision',
    'fig-score-similarity',
  ]);
  assertChartsHaveData(charts);
  await page.close();
});
