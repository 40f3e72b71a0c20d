import assert from 'node:assert/strict';
import { test } from 'node:test';
import { realNeighbourSimilarities } from '../../../activities/data/curation/calibrate';
import {
  computeFeatures,
  promptText,
  setAt,
  type Features,
} from '../../../activities/data/curation/features';
import { jaccard } from '../../../activities/data/curation/hashing';
import { rougeL } from '../../../activities/data/curation/rouge';
import { plainWords } from '../../../activities/data/curation/text';
import { templateFor, wrapRecord } from '../../../bench/templated-data';
import { DEFAULT_DEDUP, dollyRecords } from './real-records';

/** The definition: every query against every pool record, pairwise (both sets are all the records here). */
function bruteForce(f: Features, promptWords: (i: number) => string[]) {
  const nnJ: number[] = [];
  const nnR: number[] = [];
  for (let i = 0; i < f.count; i++) {
    let bestJ = 0;
    const prompts: { j: number; s: number }[] = [];
    for (let j = 0; j < f.count; j++) {
      if (j === i) continue;
      bestJ = Math.max(bestJ, jaccard(setAt(f.full, i), setAt(f.full, j)));
      prompts.push({ j, s: jaccard(setAt(f.prompt, i), setAt(f.prompt, j)) });
    }
    prompts.sort((a, b) => b.s - a.s || a.j - b.j);
    let bestR = 0;
    for (const { j } of prompts.slice(0, 8)) bestR = Math.max(bestR, rougeL(promptWords(i), promptWords(j)));
    nnJ.push(bestJ);
    nnR.push(bestR);
  }
  return { jaccard: nnJ.sort((a, b) => a - b), rougeL: nnR.sort((a, b) => a - b) };
}

const params = {
  numPerm: DEFAULT_DEDUP.numPerm,
  bands: DEFAULT_DEDUP.bands,
  shingleSize: DEFAULT_DEDUP.shingleSize,
  ngram: DEFAULT_DEDUP.decontaminationNgram,
  seed: 1,
};

for (const [name, records] of [
  // real records with some near-copies among them, and the same wrapped in long templates (where the
  // shared preamble makes every record overlap every other)
  ['plain', [...dollyRecords(300), ...dollyRecords(40).map((r) => ({ ...r, response: r.response + ' ok' }))]],
  ['templated', dollyRecords(300).map((r) => wrapRecord(r, templateFor(r)))],
  [
    'with empty prompts',
    [...dollyRecords(200), ...dollyRecords(5, 300).map((r) => ({ ...r, instruction: '', context: '' }))],
  ],
] as const) {
  test(`calibration's nearest neighbours by overlap counting equal the pairwise definition (${name})`, () => {
    const f = computeFeatures(records, params);
    const words = (i: number) => plainWords(promptText(records[i]!));
    const fast = realNeighbourSimilarities(f, records.length, words);
    const slow = bruteForce(f, words);
    assert.deepEqual(fast, slow);
    if (name === 'plain') assert.ok(slow.jaccard.at(-1)! > 0.8, 'the near-copies are found');
    if (name === 'with empty prompts') assert.equal(slow.rougeL.at(-1), 1, 'empty prompts match each other');
  });
}
