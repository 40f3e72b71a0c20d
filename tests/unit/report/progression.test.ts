import assert from 'node:assert/strict';
import { test } from 'node:test';
import { renderReport } from '../../../report/render';
import { progressionChart, progressionTable, referenceName } from '../../../report/progression';
import { parseReportData } from '../../../report/report-schema';
import type { EvaluationSummary } from '../../../common/types';
import { minimalReport } from './minimal-fixture';

const summary = (judgeMean: number, exact: number): EvaluationSummary => {
  const m = { mean: judgeMean, median: judgeMean, coverage: { '50': 50, '70': 10 }, samples: 20 };
  return {
    judges: [{ judge: 'local-judge', similarity: m, precision: m, failed: 0 }],
    agreement: {},
    reference: { metric: 'exact-match', mean: exact, samples: 20, perfect: exact },
  };
};

function withBase() {
  const data = minimalReport({ base: summary(31, 5), teacher: summary(60, 35) });
  data.target.statistic = 'mean';
  data.cycles = [0, 1].map((cycle) => ({
    cycle,
    syntheticVolume: cycle * 8,
    trainingSamples: 279 + cycle * 8,
    evaluation: summary(40 + cycle, [55, 60][cycle]!),
  }));
  return data;
}

test('base row, each cycle and the teacher on both the judge score and the reference metric', () => {
  const data = withBase();
  assert.equal(referenceName(data), 'exact match');
  const table = progressionTable(data);
  const rows = [
    ...table.matchAll(/<tr class="(\w+)"><th scope="row">([^<]*)<\/th><td>([^<]*)<\/td><td>([^<]*)<\/td>/g),
  ].map((m) => [m[1], m[3], m[4]]);
  assert.deepEqual(rows, [
    ['base', '31.00', '5.00'],
    ['cycle', '40.00', '55.00'],
    ['cycle', '41.00', '60.00'],
    ['teacher', '60.00', '35.00'],
  ]);
  assert.match(table, /base 5\.00 → best cycle 1 60\.00 \(\+55\.00\)\.</);
  // the promoted (best) cycle is what the delta reads; the latest is named beside it when it is another one
  data.cycles[0]!.evaluation = summary(45, 55);
  assert.match(
    progressionTable(data),
    /base 5\.00 → best cycle 0 55\.00 \(\+50\.00\); latest cycle 1 60\.00 \(\+55\.00\)\./,
  );
  data.cycles[0]!.evaluation = summary(40, 55);
  const chart = progressionChart(data)!;
  assert.deepEqual(chart.config.data.labels, ['base', 'cycle 0', 'cycle 1']);
  assert.deepEqual(
    chart.config.data.datasets.map((d) => d.data),
    [
      [31, 40, 41],
      [5, 55, 60],
    ],
  );
  const html = renderReport(data);
  assert.match(html, /student · base \(no adapter\)/, 'the per-judge table has the base row');
  assert.match(html, /deterministically: no LLM/);
  assert.match(html, /noisy/);
});

test('a report without base or reference metric says how to get one and draws no progression chart', () => {
  const data = minimalReport();
  assert.equal(progressionChart(data), null);
  assert.match(renderReport(data), /Set <code>evaluation.reference<\/code>/);
});

test('report data with a base row and reference scores passes the schema', () => {
  const data = withBase();
  const parsed = parseReportData(JSON.stringify(data), 'run.json');
  assert.equal(parsed.base?.reference?.mean, 5);
  assert.equal(parsed.cycles[1]!.evaluation.reference?.metric, 'exact-match');
});
