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

  it('refuses a coverage set too small for the split', () => {
    assert.throws(
      () => splitCoverage('cov.jsonl', [rec(1, 'a')], { testRatio: 0.1, seed: 1, stratifyBy: 'category' }),
      /cov\.jsonl field 'split\.testRatio': 1 record\(s\) cannot be split/,
    );
  });
});
