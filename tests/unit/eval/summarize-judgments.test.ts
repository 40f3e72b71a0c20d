import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { JudgmentRecord } from '../../../activities/eval/judgment-record';
import { summarizeJudgments } from '../../../activities/eval/summarize-judgments';

const spent = { tokens: { input: 10, output: 5, cached: 0 }, cost: 0.0001, attempts: 1 };

function single(judge: string, promptId: string, repeat: number, score: number | null): JudgmentRecord {
  return {
    kind: 'single',
    judge,
    repeat,
    promptId,
    sample: 0,
    scores: score === null ? null : { similarity: score, precision: 100 - score },
    rationale: score === null ? null : { similarity: 's', precision: 'p' },
    ...spent,
    ...(score === null ? { error: { reason: 'invalid-output' as const, message: 'missing key' } } : {}),
  };
}

function pair(
  judge: string,
  promptId: string,
  repeat: number,
  order: 'student-first' | 'student-second',
  verdict: 'A' | 'B' | 'tie' | null,
): JudgmentRecord {
  return {
    kind: 'pairwise',
    judge,
    repeat,
    promptId,
    sample: 0,
    order,
    referenceSample: 0,
    verdict,
    rationale: verdict ? 'r' : null,
    ...spent,
    ...(verdict ? {} : { error: { reason: 'refusal' as const, message: 'refused' } }),
  };
}

describe('summarizeJudgments', () => {
  const records = [
    // judge a: p1 repeats 10, 20, 90 -> mean 40, median 20; p2: 60, 60, failed -> 60 either way
    single('a', 'p1', 0, 10),
    single('a', 'p1', 1, 20),
    single('a', 'p1', 2, 90),
    single('a', 'p2', 0, 60),
    single('a', 'p2', 1, 60),
    single('a', 'p2', 2, null),
    // judge b: p1 all failed (left out, not zero), p2: 80
    single('b', 'p1', 0, null),
    single('b', 'p2', 0, 80),
    // pairwise: a wins p1 r0 in both orders; p1 r1 position-biased; p2 r0 one order failed (not counted)
    pair('a', 'p1', 0, 'student-first', 'A'),
    pair('a', 'p1', 0, 'student-second', 'B'),
    pair('a', 'p1', 1, 'student-first', 'A'),
    pair('a', 'p1', 1, 'student-second', 'A'),
    pair('a', 'p2', 0, 'student-first', 'B'),
    pair('a', 'p2', 0, 'student-second', null),
  ];

  it('folds repeats by mean or median and leaves failed samples out instead of scoring them 0', () => {
    const byMean = summarizeJudgments(records, {
      judges: ['a', 'b'],
      aggregate: 'mean',
      thresholds: [50, 70],
    }).summary;
    const a = byMean.judges.find((j) => j.judge === 'a')!;
    assert.deepEqual(a.similarity, { mean: 50, median: 50, coverage: { '50': 50, '70': 0 }, samples: 2 });
    assert.equal(a.failed, 2);
    assert.equal(a.calls, 12);
    const b = byMean.judges.find((j) => j.judge === 'b')!;
    assert.deepEqual(b.similarity, { mean: 80, median: 80, coverage: { '50': 100, '70': 100 }, samples: 1 });
    assert.equal(b.failedSamples, 1);
    // all: p1 = mean(40) from a only, p2 = mean(60, 80) = 70
    const all = byMean.judges.find((j) => j.judge === 'all')!;
    assert.deepEqual(all.similarity, { mean: 55, median: 55, coverage: { '50': 50, '70': 50 }, samples: 2 });
    assert.equal(all.failed, 3);

    const byMedian = summarizeJudgments(records, {
      judges: ['a', 'b'],
      aggregate: 'median',
      thresholds: [50, 70],
    }).summary;
    assert.equal(byMedian.judges.find((j) => j.judge === 'a')!.similarity.mean, 40); // (20 + 60) / 2
    assert.equal(byMedian.aggregate, 'median');
  });

  it('counts a pairwise verdict only when both orders answered and agree', () => {
    const { summary } = summarizeJudgments(records, {
      judges: ['a', 'b'],
      aggregate: 'mean',
      thresholds: [50],
    });
    assert.deepEqual(summary.judges.find((j) => j.judge === 'a')!.pairwise, {
      win: 50,
      tie: 50,
      loss: 0,
      positionDisagreement: 50,
      pairs: 2,
    });
    assert.deepEqual(summary.judges.find((j) => j.judge === 'b')!.pairwise, {
      win: 0,
      tie: 0,
      loss: 0,
      positionDisagreement: 0,
      pairs: 0,
    });
  });

  it('reports agreement only over samples both judges scored', () => {
    const { summary } = summarizeJudgments(records, {
      judges: ['a', 'b'],
      aggregate: 'mean',
      thresholds: [50],
    });
    assert.deepEqual(summary.agreementDetail!['a|b']!.precision, { spearman: null, kendall: null, n: 1 });
    assert.equal(summary.agreement['a|b'], undefined, 'no rho is defined on one shared sample');
  });

  it('refuses a judgment from a judge that is not configured', () => {
    assert.throws(
      () =>
        summarizeJudgments([single('x', 'p1', 0, 1)], { judges: ['a'], aggregate: 'mean', thresholds: [50] }),
      /not a configured judge/,
    );
  });
});
