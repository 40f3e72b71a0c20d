import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CoverageRecord } from '../../../activities/data/ingest/coverage-record';
import { splitCoverage } from '../../../activities/data/ingest/split';

const rec = (i: number, category: string): CoverageRecord => ({
  id: `r${String(i).padStart(4, '0')}`,
  category,
  instruction: `q${i}`,
  context: '',
  response: `a${i}`,
  provenance: { file: 'f', line: i, shape: 'prompt-response' },
});

const records = [
  ...Array.from({ length: 100 }, (_, i) => rec(i, 'a')),
  ...Array.from({ length: 40 }, (_, i) => rec(100 + i, 'b')),
  ...Array.from({ length: 3 }, (_, i) => rec(200 + i, 'c')),
];

describe('train/test split', () => {
  it('is stratified by category, every category on both sides', () => {
    const { train, test } = splitCoverage('f', records, { testRatio: 0.1, seed: 1, stratifyBy: 'category' });
    const count = (rs: CoverageRecord[], c: string) => rs.filter((r) => r.category === c).length;
    assert.deepEqual([count(test, 'a'), count(test, 'b'), count(test, 'c')], [10, 4, 1]);
    assert.equal(train.length + test.length, records.length);
    const ids = new Set(train.map((r) => r.id));
    assert.ok(test.every((r) => !ids.has(r.id)));
  });

  it('is reproducible from the seed and independent of input order', () => {
    const a = splitCoverage('f', records, { testRatio: 0.2, seed: 9, stratifyBy: 'category' });
    const b = splitCoverage('f', records.slice().reverse(), {
      testRatio: 0.2,
      seed: 9,
      stratifyBy: 'category',
    });
    const c = splitCoverage('f', records, { testRatio: 0.2, seed: 10, stratifyBy: 'category' });
    assert.deepEqual(
      a.test.map((r) => r.id),
      b.test.map((r) => r.id),
    );
    assert.notDeepEqual(
      a.test.map((r) => r.id),
      c.test.map((r) => r.id),
    );
  });

  it('applies the limit before splitting', () => {
    const { train, test } = splitCoverage('f', records, {
      testRatio: 0.5,
      seed: 1,
      stratifyBy: 'none',
      limit: 20,
    });
    assert.equal(train.length + test.length, 20);
  });

  it("stratifies by the normalized answer with 'response', every label on both sides", () => {
    // one category, answers from a skewed label set as exact match sees them (case, trailing period)
    const labels = [...Array(30).fill('Open_QA'), ...Array(8).fill('brainstorming.'), ...Array(2).fill('x')];
    const labelled = labels.map((label: string, i) => ({ ...rec(i, 'task'), response: label }));
    labelled.push(
      { ...rec(90, 'task'), response: 'open_qa' },
      { ...rec(91, 'task'), response: 'unique answer' },
    );
    const { train, test } = splitCoverage('f', labelled, { testRatio: 0.1, seed: 3, stratifyBy: 'response' });
    const count = (rs: CoverageRecord[], l: string) =>
      rs.filter((r) => r.response.toLowerCase().replace(/\.$/, '') === l).length;
    assert.deepEqual(
      ['open_qa', 'brainstorming', 'x'].map((l) => count(test, l)),
      [3, 1, 1],
    );
    assert.deepEqual(
      ['open_qa', 'brainstorming', 'x'].map((l) => count(train, l)),
      [28, 7, 1],
    );
    assert.equal(train.length + test.length, labelled.length);
    // by category the same records are one stratum: the label mix of the test set is left to chance
    const byCategory = splitCoverage('f', labelled, { testRatio: 0.1, seed: 3, stratifyBy: 'category' });
    assert.equal(byCategory.test.length, 4);
  });

  it('refuses a coverage set too small for the split', () => {
    assert.throws(
      () => splitCoverage('cov.jsonl', [rec(1, 'a')], { testRatio: 0.1, seed: 1, stratifyBy: 'category' }),
      /cov\.jsonl field 'split\.testRatio': 1 record\(s\) cannot be split/,
    );
  });
});
