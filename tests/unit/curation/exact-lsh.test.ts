import assert from 'node:assert/strict';
import { test } from 'node:test';
import { exactKey } from '../../../activities/data/curation/exact-dedup';
import { LshBuckets } from '../../../activities/data/curation/lsh-buckets';
import { normalizeText } from '../../../activities/data/curation/text';
import { mulberry32 } from '../../../activities/synthesis/rng';
import { dollyRecords } from './real-records';

test('exact keys are equal exactly when the normalized instruction and response are', () => {
  const variants = (s: string) => [
    s,
    `  ${s.toUpperCase()}\n`,
    s.replace(/ /g, ' \t\r\n'),
    s.replace(/ /g, '\u00a0'),
    s.replace(/fi/g, 'ﬁ'),
    s + '.',
    s.replace(/e/, 'é'),
  ];
  const records = dollyRecords(400).flatMap((r) =>
    variants(r.instruction).map((instruction, k) => ({
      ...r,
      instruction,
      response: variants(r.response)[k]!,
    })),
  );
  records.push({ ...records[0]!, instruction: records[0]!.instruction + records[0]!.response, response: '' });
  const byKey = new Map<string, string>();
  for (const r of records) {
    const key = exactKey(r).join(':');
    const text = `${normalizeText(r.instruction)}\u0000${normalizeText(r.response)}`;
    const had = byKey.get(key);
    if (had !== undefined) assert.equal(had, text, `same key for different texts`);
    else byKey.set(key, text);
  }
  const texts = new Set(
    records.map((r) => `${normalizeText(r.instruction)}\u0000${normalizeText(r.response)}`),
  );
  assert.equal(byKey.size, texts.size, 'different keys for the same normalized text');
});

test('exact keys of structured strings (Thue-Morse sequences and their complements) differ', () => {
  // a multiply-only hash mod 2^32 makes both halves of these collide from 256 characters on
  const thueMorse = (bits: number, flip: number) =>
    Array.from({ length: 1 << bits }, (_, i) => {
      let parity = flip;
      for (let x = i; x; x >>>= 1) parity ^= x & 1;
      return parity ? 'b' : 'a';
    }).join('');
  for (let bits = 6; bits <= 12; bits++) {
    const [a, b] = [0, 1].map((flip) =>
      exactKey({ instruction: thueMorse(bits, flip), context: '', response: '' }),
    );
    assert.ok(a![0] !== b![0] && a![1] !== b![1], `${1 << bits} characters: ${a} vs ${b}`);
  }
});

test('LSH buckets list exactly the records sharing a band key, in band then record order', () => {
  const rng = mulberry32(5);
  const n = 3000;
  const bands = 8;
  // few distinct keys per band, so that buckets are long and collide in the hash table
  const keys = new Uint32Array(n * bands).map(() => Math.floor(rng() * 400) * 0x01000193);
  const buckets = new LshBuckets(keys, n, bands).prepare();
  for (const i of [0, 1, 17, 1500, n - 1]) {
    for (const earlierOnly of [true, false]) {
      const want: number[] = [];
      const seen = new Set([i]);
      for (let b = 0; b < bands; b++)
        for (let j = 0; j < (earlierOnly ? i : n); j++)
          if (!seen.has(j) && keys[j * bands + b] === keys[i * bands + b]) {
            seen.add(j);
            want.push(j);
          }
      const got: number[] = [];
      buckets.forEachCandidate(i, earlierOnly, (j) => void got.push(j));
      assert.deepEqual(got, want, `record ${i}, earlierOnly ${earlierOnly}`);
    }
  }
  let visits = 0;
  buckets.forEachCandidate(n - 1, true, () => ++visits === 3);
  assert.equal(visits, 3, 'a visit returning true stops the walk');
});
