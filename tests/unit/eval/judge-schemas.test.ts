import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PairwiseVerdict, SingleAnswerGrade } from '../../../activities/eval/judge-schemas';

const good = {
  similarity_assessment: { score: 72, rationale: 'Same facts, shorter.' },
  precision_assessment: { score: 88.5, rationale: 'Answers the question.' },
};

function issues(raw: unknown): string[] {
  const r = SingleAnswerGrade.safeParse(raw);
  assert.equal(r.success, false, 'expected the answer to be rejected');
  return r.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
}

describe('single-answer grade schema', () => {
  it('accepts a well-formed answer, fractional scores included', () => {
    assert.deepEqual(SingleAnswerGrade.parse(good), good);
  });
  it('rejects scores out of range, naming the field', () => {
    assert.match(
      issues({ ...good, precision_assessment: { score: 101, rationale: 'x' } }).join(),
      /precision_assessment\.score: score must be between 0 and 100/,
    );
    assert.match(
      issues({ ...good, similarity_assessment: { score: -1, rationale: 'x' } }).join(),
      /similarity_assessment\.score/,
    );
  });
  it('rejects missing keys', () => {
    assert.match(
      issues({ similarity_assessment: good.similarity_assessment }).join(),
      /precision_assessment/,
    );
    assert.match(
      issues({ ...good, precision_assessment: { rationale: 'no score' } }).join(),
      /precision_assessment\.score/,
    );
  });
  it('rejects non-numeric scores rather than coercing them', () => {
    assert.match(
      issues({ ...good, similarity_assessment: { score: '85', rationale: 'x' } }).join(),
      /similarity_assessment\.score: score must be a number/,
    );
    assert.match(
      issues({ ...good, similarity_assessment: { score: null, rationale: 'x' } }).join(),
      /similarity_assessment\.score/,
    );
    assert.match(
      issues({ ...good, similarity_assessment: { score: Number.NaN, rationale: 'x' } }).join(),
      /similarity_assessment\.score/,
    );
  });
  it('rejects extra keys (a judge cannot smuggle other fields through)', () => {
    assert.match(issues({ ...good, overall: 100 }).join(), /overall|Unrecognized/);
  });
});

describe('pairwise verdict schema', () => {
  it('accepts A, B and tie only', () => {
    for (const verdict of ['A', 'B', 'tie'] as const)
      assert.equal(PairwiseVerdict.parse({ rationale: 'r', verdict }).verdict, verdict);
    assert.equal(PairwiseVerdict.safeParse({ rationale: 'r', verdict: 'a' }).success, false);
    assert.equal(PairwiseVerdict.safeParse({ rationale: 'r' }).success, false);
  });
});
