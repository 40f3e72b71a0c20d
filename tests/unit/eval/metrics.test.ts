import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TargetConfig } from '../../../common/config';
import {
  aggregate,
  bothOrderVerdict,
  coverage,
  decide,
  kendallTauB,
  matchingRatio,
  mean,
  median,
  ranks,
  spearman,
  summarizeMetric,
  summarizePairwise,
} from '../../../common/metrics';
import type { EvaluationSummary, JudgeSummary } from '../../../common/types';

const close = (actual: number | null, expected: number, eps = 1e-9) =>
  assert.ok(actual !== null && Math.abs(actual - expected) < eps, `${actual} != ${expected}`);

describe('mean, median, aggregate', () => {
  it('computes hand-checked values', () => {
    assert.equal(mean([70, 80, 90, 100]), 85);
    assert.equal(median([90, 70, 100, 80]), 85);
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(aggregate([10, 20, 90], 'mean'), 40);
    assert.equal(aggregate([10, 20, 90], 'median'), 20);
  });
  it('refuses empty input instead of inventing a zero', () => {
    assert.throws(() => mean([]), /no values/);
    assert.throws(() => median([]), /no values/);
    assert.throws(() => coverage([], 50), /no values/);
  });
});

describe('coverage and metric summary', () => {
  it('counts scores >= threshold at both paper thresholds', () => {
    const s = [40, 50, 69, 70, 95];
    assert.equal(coverage(s, 50), 80);
    assert.equal(coverage(s, 70), 40);
    assert.deepEqual(summarizeMetric(s, [50, 70]), {
      mean: 64.8,
      median: 69,
      coverage: { '50': 80, '70': 40 },
      samples: 5,
    });
  });
  it('reports zero samples explicitly when nothing was scored', () => {
    assert.deepEqual(summarizeMetric([], [50, 70]), {
      mean: 0,
      median: 0,
      coverage: { '50': 0, '70': 0 },
      samples: 0,
    });
  });
});

describe('matching ratio', () => {
  it('is student / teacher (paper Table 1), null when the teacher scored 0', () => {
    close(matchingRatio(87.02, 93.25), 0.933190348525469);
    assert.equal(matchingRatio(50, 0), null);
  });
});

describe('rank agreement', () => {
  it('ranks ties with their average rank', () => {
    assert.deepEqual(ranks([5, 6, 7, 8, 7]), [1, 2, 3.5, 5, 3.5]);
  });
  it('Spearman rho matches the hand computation with a tie', () => {
    // ranks a = 1..5, ranks b = 1,2,3.5,5,3.5: cov 8, var 10 and 9.5 -> 8 / sqrt(95)
    close(spearman([1, 2, 3, 4, 5], [5, 6, 7, 8, 7]), 8 / Math.sqrt(95));
    close(spearman([1, 2, 3], [30, 20, 10]), -1);
  });
  it('Kendall tau-b matches the hand computation with a tie', () => {
    // 8 concordant, 1 discordant, 1 pair tied in b only -> 7 / sqrt(9 * 10)
    close(kendallTauB([1, 2, 3, 4, 5], [5, 6, 7, 8, 7]), 7 / Math.sqrt(90));
    close(kendallTauB([1, 2, 3], [3, 2, 1]), -1);
  });
  it('is undefined (null) for constant scores or fewer than two samples', () => {
    assert.equal(spearman([1, 2, 3], [4, 4, 4]), null);
    assert.equal(kendallTauB([7], [8]), null);
    assert.throws(() => spearman([1, 2], [1]), /length/);
  });
});

describe('both-order pairwise verdicts', () => {
  it('counts a verdict only when both orders agree', () => {
    assert.deepEqual(bothOrderVerdict('A', 'B'), { outcome: 'win', positionDisagreement: false });
    assert.deepEqual(bothOrderVerdict('B', 'A'), { outcome: 'loss', positionDisagreement: false });
    assert.deepEqual(bothOrderVerdict('tie', 'tie'), { outcome: 'tie', positionDisagreement: false });
  });
  it('turns a position-biased pair into a tie and flags the disagreement', () => {
    assert.deepEqual(bothOrderVerdict('A', 'A'), { outcome: 'tie', positionDisagreement: true });
    assert.deepEqual(bothOrderVerdict('B', 'B'), { outcome: 'tie', positionDisagreement: true });
    assert.deepEqual(bothOrderVerdict('A', 'tie'), { outcome: 'tie', positionDisagreement: true });
  });
  it('summarizes win/tie/loss and disagreement rates in %', () => {
    const pairs = [
      bothOrderVerdict('A', 'B'),
      bothOrderVerdict('A', 'A'),
      bothOrderVerdict('B', 'A'),
      bothOrderVerdict('A', 'B'),
    ];
    assert.deepEqual(summarizePairwise(pairs), {
      win: 50,
      tie: 25,
      loss: 25,
      positionDisagreement: 25,
      pairs: 4,
    });
  });
});

function summaryWith(precisionMean: number, coverage70: number, samples = 10): EvaluationSummary {
  const m = {
    mean: precisionMean,
    median: precisionMean,
    coverage: { '50': 100, '70': coverage70 },
    samples,
  };
  const row = (judge: string): JudgeSummary => ({
    judge,
    similarity: { ...m, mean: 1 },
    precision: m,
    failed: 0,
  });
  return { judges: [row('openai/gpt-4o'), row('all')], agreement: {} };
}

describe('decide', () => {
  const absolute = (atLeast: number, statistic: TargetConfig['statistic'] = 'mean'): TargetConfig => ({
    metric: 'precision',
    statistic,
    atLeast,
  });
  it('stops when the absolute target is reached, continues below it', () => {
    assert.equal(decide(absolute(80), summaryWith(80, 60)).action, 'stop');
    const below = decide(absolute(80), summaryWith(79.99, 60));
    assert.deepEqual(below, {
      action: 'continue',
      reason: 'below-target',
      metric: 'precision',
      statistic: 'mean',
      value: 79.99,
      threshold: 80,
    });
  });
  it('reads coverage statistics from the coverage map', () => {
    assert.equal(decide(absolute(60, 'coverage70'), summaryWith(10, 60)).action, 'stop');
    assert.equal(decide(absolute(61, 'coverage70'), summaryWith(10, 60)).action, 'continue');
  });
  it('scales a relative target by the teacher score and records matching', () => {
    const target: TargetConfig = { metric: 'precision', statistic: 'mean', relativeToTeacher: 0.9 };
    const d = decide(target, summaryWith(85, 0), summaryWith(90, 0));
    assert.deepEqual(d, {
      action: 'stop',
      reason: 'target-met',
      metric: 'precision',
      statistic: 'mean',
      value: 85,
      threshold: 81,
      teacherValue: 90,
      relativeToTeacher: 0.9,
      matching: 0.9444,
    });
    assert.equal(decide(target, summaryWith(80.9, 0), summaryWith(90, 0)).action, 'continue');
    assert.equal(decide(target, summaryWith(85, 0)).reason, 'no-teacher-score');
    const above = decide({ ...target, relativeToTeacher: 1.2 }, summaryWith(99, 0), summaryWith(90, 0));
    assert.equal(above.threshold, 100, 'a relative target is capped at the top of the scale');
  });
  it('never stops on an evaluation that scored nothing', () => {
    const d = decide(absolute(0), summaryWith(0, 0, 0));
    assert.equal(d.action, 'continue');
    assert.equal(d.reason, 'no-scores');
    assert.equal(d.value, null);
  });
  it('the compound rule (bothMetrics) stops only when similarity and precision both reach the target', () => {
    const both = { ...absolute(80), bothMetrics: true };
    const withSimilarity = (precision: number, similarity: number) => {
      const s = summaryWith(precision, 60);
      for (const j of s.judges) j.similarity = { ...j.similarity, mean: similarity };
      return s;
    };
    // precision alone meets 80 (the single-metric rule stops); similarity 79 holds the compound rule back
    assert.equal(decide(absolute(80), withSimilarity(90, 79)).action, 'stop');
    const held = decide(both, withSimilarity(90, 79));
    assert.equal(held.action, 'continue');
    assert.equal(held.value, 79, 'the score is the lower of the two');
    assert.equal(decide(both, withSimilarity(80, 85)).action, 'stop');
    // relative to the teacher: the share of the teacher's lower metric
    const rel = {
      metric: 'precision' as const,
      statistic: 'mean' as const,
      relativeToTeacher: 0.9,
      bothMetrics: true,
    };
    const d = decide(rel, withSimilarity(95, 72), withSimilarity(100, 80));
    assert.equal(d.threshold, 72);
    assert.equal(d.action, 'stop');
    // a metric with no scored samples: no decision to stop
    const none = withSimilarity(90, 90);
    for (const j of none.judges) j.similarity = { ...j.similarity, samples: 0 };
    assert.equal(decide(both, none).reason, 'no-scores');
  });
  it('names the missing threshold when a coverage target has none', () => {
    const s = summaryWith(80, 60);
    for (const j of s.judges) j.precision.coverage = { '50': 100 };
    assert.throws(() => decide(absolute(50, 'coverage70'), s), /coverage threshold 70/);
  });
});
