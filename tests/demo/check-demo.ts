// The demo check (README command 1 under CI-like conditions): runs `npm run demo`'s program from this
// checkout with a fresh state directory, then opens the report it wrote in real headless Chromium.
// It checks the base student's row and both metrics (judge score, exact match) for base and every cycle.
// Last line: `demo: <cycles> cycles, report <n> charts, <passed> passed, <failed> failed`.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { chromiumPath } from '../unit/report/chromium';

const root = path.resolve(import.meta.dirname, '..', '..');
const home = await mkdtemp(path.join(tmpdir(), 'llamaduo-demo-'));
const started = Date.now();
const output: string[] = [];
const code = await new Promise<number | null>((resolve) => {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'demo', 'run-demo.ts')], {
    cwd: root,
    env: { ...process.env, LLAMADUO_HOME: home },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const keep = (b: Buffer) => {
    process.stdout.write(b);
    output.push(b.toString());
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  child.on('exit', resolve);
});
const text = output.join('');
const checks: [string, boolean][] = [];
const check = (name: string, ok: boolean) => {
  checks.push([name, ok]);
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}`);
};
check(`demo exited 0 (got ${code})`, code === 0);
const done = /migration (\S+): (\S+) after (\d+) cycle\(s\)/.exec(text);
const cycles = Number(done?.[3] ?? 0);
check(`at least 2 cycles (got ${cycles}, status ${done?.[2]})`, cycles >= 2);
check('printed the Temporal UI URL', /Temporal UI: http:\/\/127\.0\.0\.1:8233\//.test(text));
const reportPath = /report: (\S+\.html)/.exec(text)?.[1];
check(`printed the report path (${reportPath})`, Boolean(reportPath));
let charts = 0;
if (reportPath) {
  const html = await readFile(reportPath, 'utf8');
  const browser = await chromium.launch({ executablePath: chromiumPath(), args: ['--no-sandbox'] });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    await page.goto(pathToFileURL(reportPath).href, { waitUntil: 'load' });
    const counts = await page.evaluate(() => {
      const Chart = (
        globalThis as unknown as {
          Chart: { instances: Record<string, { data: { datasets: { data: unknown[] }[] } }> };
        }
      ).Chart;
      const all = Object.values(Chart.instances);
      return {
        charts: all.length,
        withData: all.filter((c) => c.data.datasets.some((d) => d.data.length > 0)).length,
      };
    });
    charts = counts.withData;
    check(`report renders without errors (${errors.join('; ') || 'none'})`, errors.length === 0);
    check(
      `report charts have data (${counts.withData}/${counts.charts})`,
      counts.charts > 0 && counts.withData === counts.charts,
    );
    check('report has judge scores for 2 cycles', (html.match(/cycle 1/gi) ?? []).length > 0);
    // base -> cycles on both metrics, as the page shows them
    type Cell = { textContent: string | null };
    type Row = { className: string; querySelectorAll(selector: string): ArrayLike<Cell> };
    const progression = await page.$$eval('table.progression tbody tr', (trs) =>
      (trs as unknown as Row[]).map((tr) => ({
        cls: tr.className,
        cells: Array.from(tr.querySelectorAll('td')).map((td) => td.textContent ?? ''),
      })),
    );
    const numeric = (cells: string[]) => cells.length === 2 && cells.every((c) => /^\d+\.\d\d/.test(c));
    const baseRow = progression.find((r) => r.cls === 'base');
    const cycleRows = progression.filter((r) => r.cls === 'cycle');
    check(
      `report shows the base student on judge score and exact match (${JSON.stringify(baseRow?.cells)})`,
      Boolean(baseRow && numeric(baseRow.cells)),
    );
    check(
      `report shows each cycle on both metrics (${cycleRows.length} rows)`,
      cycleRows.length >= 2 && cycleRows.every((r) => numeric(r.cells)),
    );
    check(
      'report says which metric is which',
      /Exact match compares each answer with the test record's reference response/.test(html) &&
        /judge score is an LLM grading/.test(html),
    );
    check('per-judge table has the base row', html.includes('student · base (no adapter)'));
    await page.screenshot({ path: path.join(root, 'test-results', 'demo-report.png'), fullPage: true });
  } finally {
    await browser.close();
  }
}
const passed = checks.filter(([, ok]) => ok).length;
const failed = checks.length - passed;
console.log(`[demo] ${Math.round((Date.now() - started) / 1000)} s`);
console.log(`demo: ${cycles} cycles, report ${charts} charts, ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
