import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  hashWords,
  jaccard,
  NgramSet,
  ngramKeys,
  shingleSet,
  wordHashes,
} from '../../../activities/data/curation/hashing';
import { estimateJaccard, MinHasher } from '../../../activities/data/curation/minhash';
import { rougeL } from '../../../activities/data/curation/rouge';
import { normalizeText, words } from '../../../activities/data/curation/text';
import { dollyRecords } from './real-records';

const set = (text: string, k = 3) => shingleSet(hashWords(words(text)), k);

test('normalization folds case, whitespace, Unicode forms; words fold digit runs', () => {
  assert.equal(normalizeText('  Hello\u00a0\tWORLD\n\n ﬁne '), 'hello world fine');
  assert.deepEqual(words('In 1999, Apollo-11 cost $25.4B!'), ['in', '0', 'apollo', '0', 'cost', '0', '4b']);
});

test('exact Jaccard of shingle sets', () => {
  assert.equal(jaccard(set('a b c d e'), set('a b c d e')), 1);
  // 3 shingles vs 3 shingles, 2 shared: 2 / 4
  assert.equal(jaccard(set('a b c d e'), set('a b c d x')), 2 / 4);
  assert.equal(jaccard(set('the cat sat'), set('dogs bark loudly')), 0);
  assert.equal(set('short').length, 1, 'a text shorter than k words is one shingle');
});

test('MinHash estimates track exact Jaccard on real records', () => {
  const mh = new MinHasher({ numPerm: 256, bands: 32, seed: 7 });
  const recs = dollyRecords(300).filter((r) => words(r.response).length > 40);
  let worst = 0;
  for (const r of recs.slice(0, 150)) {
    const w = words(r.response);
    const edited = [...w];
    for (let i = 0; i < edited.length; i += 7) edited[i] = 'zz' + i; // edit every 7th word
    const a = shingleSet(hashWords(w), 3);
    const b = shingleSet(hashWords(edited), 3);
    const exact = jaccard(a, b);
    const est = estimateJaccard(mh.signature(a), mh.signature(b));
    worst = Math.max(worst, Math.abs(exact - est));
  }
  // standard error at 256 permutations is <= 0.031; 150 pairs stay within 4.5 sigma
  assert.ok(worst < 0.14, `worst MinHash error ${worst}`);
});

test('numPerm must split into whole bands', () => {
  assert.throws(
    () => new MinHasher({ numPerm: 100, bands: 32, seed: 1 }),
    /numPerm \(100\) must be a multiple of bands \(32\)/,
  );
});

test('ROUGE-L F1', () => {
  assert.equal(rougeL(['a', 'b', 'c', 'd'], ['a', 'b', 'c', 'd']), 1);
  assert.equal(rougeL(['a', 'b'], ['c', 'd']), 0);
  // LCS "a c d" = 3 of 4 and 3 of 5: F1 = 2*(3/4)*(3/5)/(3/4+3/5)
  const f = rougeL(['a', 'b', 'c', 'd'], ['a', 'x', 'c', 'd', 'y']);
  assert.ok(Math.abs(f - (2 * 0.75 * 0.6) / 1.35) < 1e-12);
  assert.equal(rougeL([], []), 1);
  assert.equal(rougeL(['a'], []), 0);
});

test('the string-free word scanner hashes exactly the words() tokens', () => {
  const tricky = [
    'İstanbul ÇAĞ',
    'naïve café 42nd Street',
    'x_1 = y2+3',
    '数据 ١٢٣ emoji 😀 ok',
    'ﬁve  ²',
    '',
  ];
  for (const t of [...tricky, ...dollyRecords(300).map((r) => r.context + ' ' + r.response)]) {
    assert.deepEqual(wordHashes(t), hashWords(words(t)), t.slice(0, 60));
  }
});

test('n-gram keys: equal n-grams give equal keys, a changed word changes the keys it is in', () => {
  const keys = (t: string) => {
    const out: string[] = [];
    ngramKeys(wordHashes(t), 3, (a, b) => void out.push(`${a}:${b}`));
    return out;
  };
  const a = keys('one two three four five');
  const b = keys('zero one two three four five');
  assert.equal(a.length, 3);
  assert.deepEqual(b.slice(1), a);
  const c = keys('one two THREE four five');
  assert.deepEqual(c, a);
  const d = keys('one two tree four five');
  assert.equal(d.filter((k) => a.includes(k)).length, 0);
  assert.deepEqual(keys('one two'), []);
});

test('NgramSet finds what was added and grows', () => {
  const set = new NgramSet();
  for (let i = 0; i < 5000; i++) set.add(i * 7919, -i);
  assert.equal(set.size, 5000);
  for (let i = 0; i < 5000; i++) assert.ok(set.has(i * 7919, -i));
  assert.ok(!set.has(7919, 0));
  assert.ok(!set.has(1, -1));
  const copy = new NgramSet(set.hi, set.lo, set.used);
  assert.equal(copy.size, 5000);
  assert.ok(copy.has(4999 * 7919, -4999));
});
