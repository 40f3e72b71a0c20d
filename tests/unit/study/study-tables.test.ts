// Table 1 and Figure 2 collated from a study's cells: a baseline row per service LLM, the best cycle per
// student, Perf. Matching = best local ÷ best service per judge and metric.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fig2Charts } from '../../../report/study-render';
import { fig2Series, ratioOfBest, table1 } from '../../../report/study-tables';
import type { EvaluationSummary } from '../../../common/types';
import type { StudyProgress } from '../../../workflows/study-messages';
import { cell, study } from './study-fixture';

describe('study tables', () => {
  it('Table 1: a service row per generator, the best cycle per student, matching = best local ÷ best service', () => {
    const [t] = table1(study);
    assert.ok(t);
    assert.deepEqual(
      t.rows.map((r) => `${r.kind}:${r.model}`),
      ['service:gpt', 'service:claude', 'local:tiny', 'local:small'],
    );
    assert.match(t.rows[3]!.source, /data by claude, 100 synthetic, cycle 1/);
    assert.match(t.rows[2]!.source, /data by gpt, 100 synthetic/);
    assert.deepEqual(t.judges, ['j1', 'j2', 'all']);
    assert.equal(t.matching.j1!.precision.mean, 80); // 72 / 90
    assert.equal(t.matching.j2!.precision.mean, 90); // 72 / 80
    assert.equal(t.matching.all!.similarity.mean, (100 * 72) / 85); // claude baseline: mean of 90 and 80
    assert.equal(t.matching.j1!.precision.coverage50, 100); // every best scores ≥ 50
  });

  it('Figure 2: mean and coverage ≥ 50 / ≥ 70 against volume per judge, generator and student', () => {
    const s = fig2Series(study).find(
      (x) =>
        x.judge === 'all' && x.generator === 'claude' && x.student === 'small' && x.metric === 'precision',
    );
    assert.deepEqual(s?.points, [
      { volume: 0, mean: 45, coverage50: 0, coverage70: 0 },
      { volume: 100, mean: 72, coverage50: 100, coverage70: 100 },
    ]);
    assert.equal(fig2Series(study).length, 3 * 4 * 2);
  });

  it("Perf. Matching reproduces the paper's Table 1 (summarization, GPT4o as judge): mean% / coverage%", () => {
    // [precision mean, coverage ≥ 50, similarity mean, coverage ≥ 50] as the paper prints them
    const paper: Record<string, [number, number, number, number]> = {
      gpt4o: [90.71, 97, 82.0, 95],
      claude3sonnet: [88.04, 97, 78.18, 95],
      gemini15flash: [87.9, 96, 79.14, 95],
      gemma2b: [57.6, 64, 54.49, 61],
      gemma7b: [73.54, 85, 68.58, 85],
      mistral7b: [76.38, 93, 69.65, 88],
      llama3_8b: [75.67, 88, 70.54, 86],
    };
    const evaluation = (name: string): EvaluationSummary => {
      const [p, p50, s, s50] = paper[name]!;
      const m = (mean: number, c50: number) => ({
        mean,
        median: mean,
        coverage: { '50': c50 },
        samples: 100,
      });
      return {
        judges: [{ judge: 'gpt4o', precision: m(p, p50), similarity: m(s, s50), failed: 0 }],
        agreement: {},
      };
    };
    const at = (student: string, generator: string) => ({
      ...cell(student, generator, 0, []),
      teacher: evaluation(generator),
      cycles: [{ cycle: 0, syntheticSamples: 0, evaluation: evaluation(student) }],
    });
    const grid: StudyProgress = {
      ...study,
      cells: [
        at('gemma2b', 'gpt4o'),
        at('gemma7b', 'claude3sonnet'),
        at('mistral7b', 'gemini15flash'),
        at('llama3_8b', 'gpt4o'),
      ],
    };
    const [t] = table1(grid);
    const round = (v: number | null) => (v === null ? null : Math.round(v * 100) / 100);
    const got = t!.matching.gpt4o!;
    // the paper: 84.20% / 95.88% (precision), 86.02% / 92.63% (similarity)
    assert.deepEqual(
      { p: round(got.precision.mean), p50: round(got.precision.coverage50) },
      { p: 84.2, p50: 95.88 },
    );
    assert.deepEqual(
      { s: round(got.similarity.mean), s50: round(got.similarity.coverage50) },
      { s: 86.02, s50: 92.63 },
    );
  });

  it("Perf. Matching takes each side's best per column: the best mean and the best coverage may be other rows", () => {
    // the paper's summarization, Gemini 1.5 Flash judging precision: 74.59 (Gemma 7B) / 87.10 = 85.64%, and
    // 95% coverage (Gemma 7B and Mistral 7B) / 100% = 95%
    assert.equal(ratioOfBest([61.9, 74.59, 72.74, 72.74], [87.1, 86.7, 85.65])!.toFixed(2), '85.64');
    assert.equal(ratioOfBest([78, 95, 95, 91], [100, 100, 98]), 95);
    assert.equal(ratioOfBest([], [90]), null);
    assert.equal(ratioOfBest([50], [0]), null);
  });

  it('Figure 2 draws both metrics: a chart per judge, data generator and metric', () => {
    const charts = fig2Charts(study);
    // judges j1, j2, all × generators gpt, claude × precision, similarity
    assert.equal(charts.length, 3 * 2 * 2);
    assert.equal(charts.filter((c) => / similarity vs synthetic volume/.test(c.title)).length, 6);
    assert.equal(charts.filter((c) => / precision vs synthetic volume/.test(c.title)).length, 6);
  });
});
