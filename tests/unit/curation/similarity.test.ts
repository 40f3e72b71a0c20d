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
import { lcsLength, rougeL } from '../../../activities/data/curation/rouge';
import { mulberry32 } from '../../../activities/synthesis/rng';
import { withoutStopwords } from '../../../activities/data/curation/stopwords';
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

test('MinHash estimates track exact Jaccard on real records, without bias', () => {
  const mh = new MinHasher({ numPerm: 256, bands: 32, seed: 7 });
  const recs = dollyRecords(300).filter((r) => words(r.response).length > 40);
  const errors: number[] = [];
  for (const r of recs.slice(0, 150)) {
    const w = words(r.response);
    const edited = [...w];
    for (let i = 0; i < edited.length; i += 7) edited[i] = 'zz' + i; // edit every 7th word
    const a = shingleSet(hashWords(w), 3);
    const b = shingleSet(hashWords(edited), 3);
    errors.push(estimateJaccard(mh.signature(a), mh.signature(b)) - jaccard(a, b));
  }
  const bias = errors.reduce((s, e) => s + e, 0) / errors.length;
  const meanAbs = errors.reduce((s, e) => s + Math.abs(e), 0) / errors.length;
  // densified one-permutation hashing is unbiased; on these 40-150 word responses most of the 256 bins
  // are borrowed (mean error 0.025, worst 0.095 here; standard error at 256 permutations <= 0.031)
  assert.ok(Math.abs(bias) < 0.02, `bias ${bias}`);
  assert.ok(meanAbs < 0.06, `mean error ${meanAbs}`);
  assert.ok(Math.max(...errors.map(Math.abs)) < 0.14, `worst error`);
});

test('LSH bands (default 128 / 32) catch real near-duplicate pairs just above the thresholds', () => {
  const mh = new MinHasher({ numPerm: 128, bands: 32, seed: 1 });
  const rng = mulberry32(9);
  const [ka, kb] = [new Uint32Array(32), new Uint32Array(32)];
  let pairs = 0;
  for (const r of dollyRecords(3000)) {
    // whole samples as 3-shingles at Jaccard 0.8-0.86, prompts as content words at 0.7-0.8 (the ROUGE-L
    // candidates): short prompts leave most bins empty, where densification matters most
    for (const [text, k, lo, hi, content] of [
      [`${r.instruction} ${r.context} ${r.response}`, 3, 0.8, 0.86, false],
      [`${r.instruction} ${r.context}`, 1, 0.7, 0.8, true],
    ] as const) {
      const w = hashWords(words(text));
      const e = w.slice();
      const rate = rng() * 0.1;
      for (let i = 0; i < e.length; i++) if (rng() < rate) e[i] = (rng() * 2 ** 32) >>> 0;
      const a = shingleSet(content ? withoutStopwords(w) : w, k);
      const b = shingleSet(content ? withoutStopwords(e) : e, k);
      const j = jaccard(a, b);
      if (j < lo || j >= hi) continue;
      mh.keysOf(a, ka);
      mh.keysOf(b, kb);
      pairs++;
      assert.ok(
        ka.some((key, band) => key === kb[band]),
        `no band shared at Jaccard ${j}: ${text.slice(0, 80)}`,
      );
    }
  }
  assert.ok(pairs > 500, `${pairs} pairs`);
});

test('densified signatures of tiny sets agree in a share of bins equal to their Jaccard, any numPerm', () => {
  const rng = mulberry32(21);
  const draw = () => (rng() * 2 ** 32) >>> 0;
  for (const numPerm of [128, 96]) {
    const mh = new MinHasher({ numPerm, bands: 32, seed: 3 });
    // {x, a} vs {x, b}: Jaccard 1/3; {x, y, a} vs {x, y, b}: 1/2; {x, y, z, a} vs {x, y, z, b}: 3/5
    for (const [shared, want] of [
      [1, 1 / 3],
      [2, 1 / 2],
      [3, 3 / 5],
    ] as const) {
      let agree = 0;
      const pairs = 400;
      for (let t = 0; t < pairs; t++) {
        const common = Array.from({ length: shared }, draw);
        const a = Uint32Array.from([...common, draw()]).sort();
        const b = Uint32Array.from([...common, draw()]).sort();
        agree += estimateJaccard(mh.signature(a), mh.signature(b));
      }
      assert.ok(
        Math.abs(agree / pairs - want) < 0.03,
        `numPerm ${numPerm}, ${shared} shared: ${agree / pairs} vs ${want}`,
      );
    }
  }
});

test('numPerm must split into whole bands, stay within the table size, and may be 1', () => {
  assert.throws(
    () => new MinHasher({ numPerm: 100, bands: 32, seed: 1 }),
    /numPerm \(100\) must be a multiple of bands \(32\)/,
  );
  assert.throws(() => new MinHasher({ numPerm: 2048, bands: 32, seed: 1 }), /numPerm \(2048\) is over 1024/);
  const one = new MinHasher({ numPerm: 1, bands: 1, seed: 1 });
  const [a, b] = [one.signature(Uint32Array.of(5, 9))[0], one.signature(Uint32Array.of(7))[0]];
  assert.ok(a !== 0xffffffff && b !== 0xffffffff && a !== b, `${a} ${b}`);
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

test('the bit-parallel LCS equals the dynamic programme, across word boundaries of the bit rows', () => {
  const dp = (a: string[], b: string[]) => {
    const row = new Uint32Array(b.length + 1);
    for (const x of a) {
      let diag = 0;
      for (let j = 1; j <= b.length; j++) {
        const up = row[j]!;
        row[j] = x === b[j - 1] ? diag + 1 : Math.max(up, row[j - 1]!);
        diag = up;
      }
    }
    return row[b.length]!;
  };
  const rng = mulberry32(3);
  for (let t = 0; t < 3000; t++) {
    const [la, lb, k] = [Math.floor(rng() * 140), Math.floor(rng() * 140), 1 + Math.floor(rng() * 12)];
    const a = Array.from({ length: la }, () => `w${Math.floor(rng() * k)}`);
    const b = Array.from({ length: lb }, () => `w${Math.floor(rng() * k)}`);
    assert.equal(lcsLength(a, b), dp(a, b), `${a.join(' ')} | ${b.join(' ')}`);
  }
  const recs = dollyRecords(60).map((r) => words(`${r.instruction} ${r.context}`));
  for (let i = 1; i < recs.length; i++)
    assert.equal(lcsLength(recs[i]!, recs[i - 1]!), dp(recs[i]!, recs[i - 1]!));
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
