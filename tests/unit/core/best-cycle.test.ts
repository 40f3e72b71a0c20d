import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compareCycles, pickBestCycle, type CycleRank } from '../../../common/best-cycle';

const best = (ranks: CycleRank[]) => pickBestCycle(ranks, (r) => r)?.cycle ?? null;

test('the highest judge score wins, whatever the reference metric says', () => {
  assert.equal(
    best([
      { cycle: 0, score: 40, reference: 90 },
      { cycle: 1, score: 55, reference: 10 },
      { cycle: 2, score: 30, reference: 100 },
    ]),
    1,
  );
});

test('a tie on the judge score goes to the higher reference metric, earlier or later', () => {
  assert.equal(
    best([
      { cycle: 0, score: 0, reference: 25 },
      { cycle: 1, score: 0, reference: 62.5 },
      { cycle: 2, score: 0, reference: 50 },
    ]),
    1,
  );
  assert.equal(
    best([
      { cycle: 0, score: 0, reference: 62.5 },
      { cycle: 1, score: 0, reference: 50 },
    ]),
    0,
  );
});

test('a tie on both goes to the later cycle', () => {
  assert.equal(
    best([
      { cycle: 0, score: 10, reference: 50 },
      { cycle: 1, score: 10, reference: 50 },
      { cycle: 2, score: 5, reference: 100 },
    ]),
    1,
  );
});

test('without a reference metric a judge tie goes to the later cycle', () => {
  assert.equal(
    best([
      { cycle: 0, score: 20 },
      { cycle: 1, score: 20, reference: undefined },
      { cycle: 2, score: 20, reference: null },
    ]),
    2,
  );
});

test('a cycle with the reference metric ranks above a tied one without it', () => {
  assert.equal(
    best([
      { cycle: 0, score: 0, reference: 0 },
      { cycle: 1, score: 0 },
    ]),
    0,
  );
});

test('all equal: the last cycle, in any input order', () => {
  const ranks = [0, 1, 2, 3].map((cycle) => ({ cycle, score: 0, reference: 0 }));
  assert.equal(best(ranks), 3);
  assert.equal(best([...ranks].reverse()), 3);
});

test('a missing or NaN judge score ranks below any score; none at all is null', () => {
  assert.equal(
    best([
      { cycle: 0, score: 0, reference: 0 },
      { cycle: 1, score: undefined, reference: 100 },
      { cycle: 2, score: Number.NaN, reference: 100 },
    ]),
    0,
  );
  assert.equal(
    best([
      { cycle: 0, score: undefined, reference: 20 },
      { cycle: 1, score: Number.NaN, reference: 10 },
    ]),
    0,
  );
  assert.equal(best([]), null);
});

test('compareCycles is antisymmetric and returns the picked item itself', () => {
  const a = { cycle: 0, score: 1, reference: 2 };
  const b = { cycle: 1, score: 1, reference: 3 };
  assert.ok(compareCycles(a, b) < 0 && compareCycles(b, a) > 0);
  const items = [
    { id: 'a', r: a },
    { id: 'b', r: b },
  ];
  assert.equal(
    pickBestCycle(items, (i) => i.r),
    items[1],
  );
});
