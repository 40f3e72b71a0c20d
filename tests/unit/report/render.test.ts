import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderReport } from '../../../report/render';
import { bestCycle, coverageKey, judgeTable } from '../../../report/tables';
import { histogram } from '../../../report/charts';
import { minimalReport } from './minimal-fixture';
import { reportFixture } from './report-fixture';

const visibleText = (html: string) =>
  html
    .replace(/<script[\s\S]*?<\/script>/g, '')
    .replace(/<style[\s\S]*?<\/style>/g, '')
    .replace(/<[^>]+>/g, ' ');

test('names from the user cannot inject markup or end the data script early', () => {
  const evil = '</script><script>alert(1)</script><img src=x onerror=alert(2)>';
  const data = minimalReport({ name: evil, teacherModel: evil });
  data.cycles[0]!.evaluation.judges[0]!.judge = evil;
  data.distributions[0]!.judge = evil;
  const html = renderReport(data);
  assert.equal(html.match(/<script/g)?.length, 4, 'two JSON blocks, Chart.js, the boot script');
  assert.ok(!html.includes('<img src=x'));
  assert.ok(!html.includes('<script>alert'));
  assert.ok(html.includes('&lt;/script&gt;&lt;script&gt;alert(1)'));
  // The embedded JSON still round-trips to the original strings.
  const json = html.match(/<script type="application\/json" id="report-data">([\s\S]*?)<\/script>/)![1]!;
  assert.equal(JSON.parse(json).name, evil);
});

test('an early report (one cycle, no teacher, no synthesis, no spend) renders without NaN or undefined', () => {
  const html = renderReport(minimalReport());
  const text = visibleText(html);
  for (const bad of ['NaN', 'undefined', 'Infinity', '[object Object]'])
    assert.ok(!text.includes(bad), `report shows ${bad}`);
  assert.match(text, /No synthesis has run yet/);
  assert.match(text, /41\.50 \/ 5%/, 'Table 1 uses the target coverage70 threshold');
  assert.doesNotMatch(html, /Perf\. matching/, 'no matching row without a teacher');
});

test('Table 1: matching ratio is best cycle / teacher per judge and metric', () => {
  const data = reportFixture();
  const best = bestCycle(data)!;
  assert.equal(best.cycle, 3, 'the last cycle scores best in the fixture');
  assert.equal(coverageKey(data), '70');
  const gptBest = best.evaluation.judges.find((j) => j.judge === 'gpt-4o')!.precision;
  const gptTeacher = data.teacher!.judges.find((j) => j.judge === 'gpt-4o')!.precision;
  const expected = `${((100 * gptBest.mean) / gptTeacher.mean).toFixed(1)}% / ${((100 * gptBest.coverage['70']!) / gptTeacher.coverage['70']!).toFixed(1)}%`;
  const matching = judgeTable(data).match(/<tr class="matching">([\s\S]*?)<\/tr>/)![1]!;
  assert.equal(matching.match(/<td>([^<]*)<\/td>/)![1], expected);
});

test('histogram bins: [0,10) ... [90,100], clamped', () => {
  assert.deepEqual(histogram([0, 9.9, 10, 55, 99, 100, 120, -3]), [3, 1, 0, 0, 0, 1, 0, 0, 0, 3]);
});

test('best cycle: a judge tie goes to the reference metric, then the later cycle', () => {
  const data = reportFixture();
  const m = data.target.metric;
  for (const c of data.cycles)
    c.evaluation.judges = c.evaluation.judges.map((j) => ({ ...j, [m]: { ...j[m], mean: 50 } }));
  data.cycles.forEach((c, i) => {
    c.evaluation.reference = { metric: 'exact-match', mean: i === 1 ? 80 : 40, samples: 10, perfect: 40 };
  });
  assert.equal(bestCycle(data)!.cycle, data.cycles[1]!.cycle);
  for (const c of data.cycles) delete c.evaluation.reference;
  assert.equal(bestCycle(data)!.cycle, data.cycles.at(-1)!.cycle);
  assert.match(
    judgeTable(data),
    new RegExp(`cycle ${data.cycles.at(-1)!.cycle}[^<]*<span class="tag best">`),
  );
});
