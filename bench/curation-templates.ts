// npm run bench:curation-templates — does curation keep real diversity on templated data? Real records
// from ../shared/data/raw, wrapped in six long prompt templates (and, for comparison, left as they are),
// with injected near-duplicates and paraphrases of known records. Curation runs as in a migration: the
// train split is the reference set and the user's real records, a test split is decontaminated against.
// Prints one JSON line: per setting, keptDistinct (share of the distinct records kept), recall (injected
// copies dropped) and precision (dropped records that were injected copies), with the default config and
// with templates off and absolute thresholds (the behaviour before templates and calibration).
// Options: --distinct N --copies N --train N --seed S
import { loadavg } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { SynthesisConfig } from '../common/config';
import { curate, type DedupParams } from '../activities/data/curation/pipeline';
import type { CoverageRecord } from '../activities/data/curation/records';
import { collectNgrams } from '../activities/data/curation/features';
import { jaccard, ngramKeys, shingleSet, wordHashes } from '../activities/data/curation/hashing';
import { normalizeText } from '../activities/data/curation/text';
import { mulberry32 } from '../activities/synthesis/rng';
import { loadRealRecords } from './dedup-data';
import { injectCopies, templateChars, templateFor, TEMPLATES, wrapRecord } from './templated-data';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values: opt } = parseArgs({
  options: {
    distinct: { type: 'string', default: '3000' },
    copies: { type: 'string', default: '1000' },
    train: { type: 'string', default: '1000' },
    test: { type: 'string', default: '200' },
    seed: { type: 'string', default: '7' },
  },
});
const seed = Number(opt.seed);
const defaults = SynthesisConfig.shape.dedup.parse(undefined) as DedupParams;
const before: DedupParams = { ...defaults, templates: false, thresholds: 'absolute' };

// Real records, shuffled, one per distinct instruction + response (the raw sets hold a few exact repeats).
const rng = mulberry32(seed);
const real = loadRealRecords(path.resolve(ROOT, '../shared/data/raw'));
for (let i = real.length - 1; i > 0; i--) {
  const j = Math.floor(rng() * (i + 1));
  [real[i], real[j]] = [real[j]!, real[i]!];
}
const seen = new Set<string>();
const pool = real.filter((r) => {
  const k = normalizeText(r.instruction) + '\u0000' + normalizeText(r.response);
  if (seen.has(k) || !r.response.trim()) return false;
  seen.add(k);
  return true;
});
const nTrain = Number(opt.train);
const nTest = Number(opt.test);
const nDistinct = Number(opt.distinct);
const train = pool.slice(0, nTrain);
const test = pool.slice(nTrain, nTrain + nTest);
const distinct = groundTruthDistinct(pool.slice(nTrain + nTest), train, test, nDistinct);

async function measure(templated: boolean, dedup: DedupParams) {
  const wrapIn = templated ? templateFor : undefined;
  const set = injectCopies(distinct, Number(opt.copies), seed + 1, wrapIn);
  const wrap = (r: CoverageRecord) => (wrapIn ? wrapRecord(r, wrapIn(r)) : r);
  const t0 = performance.now();
  const out = await curate({
    samples: set.samples,
    references: train.map(wrap),
    real: train.length,
    test: test.map(wrap),
    quality: null,
    dedup,
    threads: 1,
  });
  const seconds = (performance.now() - t0) / 1000;
  const kept = new Set(out.kept);
  let keptDistinct = 0;
  for (let i = 0; i < set.distinct; i++) if (kept.has(set.samples[i]!)) keptDistinct++;
  let copiesDropped = 0;
  let paraphrasesDropped = 0;
  for (let i = set.distinct; i < set.samples.length; i++) {
    if (kept.has(set.samples[i]!)) continue;
    copiesDropped++;
    if (set.paraphrase[i - set.distinct]) paraphrasesDropped++;
  }
  const copies = set.samples.length - set.distinct;
  const dropped = set.samples.length - out.kept.length;
  const paraphrases = set.paraphrase.filter(Boolean).length;
  return {
    keptDistinct: round(keptDistinct / set.distinct),
    recall: round(copies ? copiesDropped / copies : 1),
    precision: round(dropped ? copiesDropped / dropped : 1),
    paraphraseRecall: round(paraphrases ? paraphrasesDropped / paraphrases : 1),
    drops: out.drops,
    thresholds: out.thresholds,
    calibration: out.calibration,
    templatesFound: out.templates.map((t) => ({
      category: t.category,
      matching: t.matching,
      templateShare: t.templateShare,
      chars: t.spans.reduce((s, x) => s + x.length, 0),
    })),
    seconds: round(seconds, 2),
  };
}

const line = {
  distinct: distinct.length,
  copies: Number(opt.copies),
  train: train.length,
  test: test.length,
  templateChars: TEMPLATES.map((t) => templateChars(t)),
  templated: await measure(true, defaults),
  untemplated: await measure(false, defaults),
  before: {
    templated: pick(await measure(true, before)),
    untemplated: pick(await measure(false, before)),
  },
  loadAverage: loadavg().map((x) => round(x, 1)),
};
console.log(JSON.stringify(line));

/**
 * The first `want` records that are distinct by the ground-truth definitions, computed exactly (no
 * MinHash, no LSH): no earlier record (train or chosen) within word-3-shingle Jaccard 0.8 of the whole
 * record, and no word 13-gram shared with the test split. The raw sets hold such pairs (one passage with
 * several questions); a filter that drops them is right to.
 */
function groundTruthDistinct(
  candidates: CoverageRecord[],
  train: CoverageRecord[],
  test: CoverageRecord[],
  want: number,
): CoverageRecord[] {
  const sets = (r: CoverageRecord) =>
    shingleSet(wordHashes(`${r.instruction} ${r.context} ${r.response}`), defaults.shingleSize);
  const testNgrams = collectNgrams(test, defaults.decontaminationNgram);
  const chosenSets = train.map(sets);
  const out: CoverageRecord[] = [];
  for (const r of candidates) {
    if (out.length >= want) break;
    let leak = false;
    for (const f of [r.instruction, r.context, r.response])
      ngramKeys(wordHashes(f), defaults.decontaminationNgram, (a, b) => (leak ||= testNgrams.has(a, b)));
    if (leak) continue;
    const s = sets(r);
    if (chosenSets.some((c) => jaccard(s, c) >= defaults.threshold)) continue;
    chosenSets.push(s);
    out.push(r);
  }
  return out;
}

function pick(m: Awaited<ReturnType<typeof measure>>) {
  return { keptDistinct: m.keptDistinct, recall: m.recall, precision: m.precision, drops: m.drops };
}

function round(x: number, digits = 4): number {
  return Number(x.toFixed(digits));
}
