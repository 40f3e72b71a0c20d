// The curation pipeline over one batch of candidate samples: exact dedup, quality rules,
// decontamination against the test split, MinHash-LSH near-duplicates against references and the
// batch itself, and the ROUGE-L novelty filter on LSH candidates. Every drop is counted by reason.
import { dropExactDuplicates } from './exact-dedup';
import {
  collectNgrams,
  computeFeatures,
  promptText,
  variablePromptWords,
  setAt,
  type FeatureParams,
  type Features,
  type TextFields,
} from './features';
import { FeaturePool } from './features-pool';
import { calibratedThreshold, quantile, type Calibration, type NeighbourSimilarities } from './calibrate';
import { jaccard } from './hashing';
import { greedyMatchLive } from './lsh-buckets';
import { qualityIssue, type QualityProfile } from './quality';
import { RefIndex } from './ref-index';
import { rougeL, rougeLAtLeast } from './rouge';
import {
  describeTemplates,
  findTemplates,
  TemplateMasker,
  templateRanges,
  type TemplateInfo,
  type TemplateModel,
} from './templates';

export interface DedupParams {
  numPerm: number;
  bands: number;
  threshold: number;
  shingleSize: number;
  rougeLThreshold: number;
  decontaminationNgram: number;
  /** absent (configs from before calibration): 'absolute' */
  thresholds?: 'calibrated' | 'absolute';
  calibrationPercentile?: number;
  /** absent (configs from before templates): false */
  templates?: boolean;
}

export type DropReason =
  | 'exact-duplicate'
  | 'empty-field'
  | 'truncated'
  | 'length-out-of-range'
  | 'refusal'
  | 'echo'
  | 'wrong-language'
  | 'test-ngram-overlap'
  | 'test-near-duplicate'
  | 'near-duplicate'
  | 'rouge-l-similar';

export interface CurationInput<T extends TextFields & { category: string }> {
  samples: readonly T[];
  /** train split, earlier cycles' data and samples already accepted: never dropped, compared against */
  references: readonly TextFields[];
  /**
   * How many of the first references are the user's own coverage records (the train split): templates
   * are found in them and thresholds calibrated on them. 0 (default): no templates, absolute thresholds.
   */
  real?: number;
  /** the test split: prompts and references that must not leak into training data */
  test: readonly TextFields[];
  /** null skips the quality rules (benchmarks of the similarity steps) */
  quality: QualityProfile | null;
  dedup: DedupParams;
  /** threads for exact keys and features, the calling one included; default: available cores, at most 4 */
  threads?: number;
  /** MinHash permutation seed; fixed so that reruns keep the same samples */
  seed?: number;
  /** list the index of every dropped sample under its reason (benchmarks score what was dropped) */
  listDrops?: boolean;
  /** called as each step ends, with its name (activities heartbeat here) */
  onStep?: (step: string) => void;
}

/** A record as the report shows it: the prompt with its template spans (character ranges) marked. */
export interface ExampleText {
  prompt: string;
  response: string;
  template: [number, number][];
}

export interface DropExample {
  sample: ExampleText;
  /** what the sample matched: a reference (train split, earlier data), an earlier sample, a test record */
  matched?: ExampleText & { kind: 'reference' | 'sample' | 'test' };
  /** Jaccard (near-duplicates) or ROUGE-L (rouge-l-similar) of the pair, on what varies */
  similarity?: number;
}

export interface CurationOutput<T> {
  kept: T[];
  drops: Partial<Record<DropReason, number>>;
  /** up to EXAMPLES_PER_REASON examples per drop reason */
  examples: Partial<Record<DropReason, DropExample[]>>;
  /** templates found in the real records (empty without them, or with templates off) */
  templates: TemplateInfo[];
  /** the thresholds used, and the real-data figures they came from when calibrated */
  calibration: Calibration | null;
  thresholds: { threshold: number; rougeLThreshold: number };
  /** with `listDrops`: sample indices per drop reason */
  dropped?: Partial<Record<DropReason, number[]>>;
  /** seconds per step, for logs and benchmarks */
  timings: Record<string, number>;
}

export const EXAMPLES_PER_REASON = 3;
const EXAMPLE_PROMPT_CHARS = 4000;
const EXAMPLE_RESPONSE_CHARS = 1000;

export async function curate<T extends TextFields & { category: string }>(
  input: CurationInput<T>,
): Promise<CurationOutput<T>> {
  const { samples, references, test, dedup } = input;
  const n = samples.length;
  const live = new Uint8Array(n).fill(1);
  const drops: Partial<Record<DropReason, number>> = {};
  const timings: Record<string, number> = {};
  // example pairs: sample index, and the batch ([references..., live samples...]) or test index matched
  const picked: { why: DropReason; i: number; match?: { at: number; test: boolean } }[] = [];
  const dropped: Partial<Record<DropReason, number[]>> | undefined = input.listDrops ? {} : undefined;
  const drop = (i: number, why: DropReason, match?: { at: number; test: boolean }) => {
    live[i] = 0;
    if (dropped) (dropped[why] ??= []).push(i);
    const count = (drops[why] = (drops[why] ?? 0) + 1);
    if (count <= EXAMPLES_PER_REASON) picked.push({ why, i, ...(match ? { match } : {}) });
  };
  let t = performance.now();
  const lap = (name: string) => {
    const now = performance.now();
    timings[name] = Math.round(now - t) / 1000;
    t = now;
    input.onStep?.(name);
  };

  // The records cross to the feature threads once: exact-duplicate keys first, then the features of the
  // references and of the samples still live, [references..., live samples...].
  const R = references.length;
  const pool = new FeaturePool([...references, ...samples], input.threads);
  let f: Features;
  let neighbours: NeighbourSimilarities | null = null;
  let templates: TemplateModel | undefined;
  let masker: TemplateMasker | null = null;
  let testF: Features;
  let params: FeatureParams;
  const liveIds: number[] = [];
  const real = Math.min(input.real ?? 0, references.length);
  const realRecords = references.slice(0, real);
  try {
    const before = live.slice();
    const exact = dropExactDuplicates(await pool.exactKeys(), R, live);
    if (exact) {
      drops['exact-duplicate'] = exact;
      for (let i = 0; i < n; i++) {
        if (!before[i] || live[i]) continue;
        if (picked.length < EXAMPLES_PER_REASON) picked.push({ why: 'exact-duplicate', i });
        if (dropped) (dropped['exact-duplicate'] ??= []).push(i);
      }
    }
    lap('exact');

    if (input.quality) {
      for (let i = 0; i < n; i++) {
        if (!live[i]) continue;
        const why = qualityIssue(samples[i]!, input.quality);
        if (why) drop(i, why);
      }
      lap('quality');
    }

    templates = dedup.templates && real > 0 ? findTemplates(realRecords) : undefined;
    masker = templates ? new TemplateMasker(templates) : null;
    if (templates) lap('templates');
    params = {
      numPerm: dedup.numPerm,
      bands: dedup.bands,
      shingleSize: dedup.shingleSize,
      ngram: dedup.decontaminationNgram,
      seed: input.seed ?? 1,
      ...(templates && !masker!.empty ? { templates } : {}),
    };
    const testNgrams = collectNgrams(test, dedup.decontaminationNgram, params.templates);
    testF = computeFeatures(test, params);
    const mask = new Uint8Array(R + n);
    mask.fill(1, 0, R);
    for (let i = 0; i < n; i++) {
      mask[R + i] = live[i]!;
      if (live[i]) liveIds.push(i);
    }
    const calibrate = dedup.thresholds === 'calibrated' && real >= 2 ? real : 0;
    ({ features: f, neighbours } = await pool.features(mask, params, testNgrams, calibrate));
  } finally {
    pool.close();
  }
  lap('features');
  const batch: TextFields[] = [...references, ...liveIds.map((i) => samples[i]!)];

  const m = liveIds.length;
  const alive = new Uint8Array(m).fill(1);
  const dropLive = (k: number, why: DropReason, match?: { at: number; test: boolean }) => {
    alive[k] = 0;
    drop(liveIds[k]!, why, match);
  };

  // ROUGE-L compares the variable part of the prompt (instruction + context without template spans).
  const words: (string[] | undefined)[] = new Array(batch.length);
  const promptWords = (i: number) => (words[i] ??= variablePromptWords(batch[i]!, masker));

  let calibration: Calibration | null = null;
  let threshold = dedup.threshold;
  let rougeLThreshold = dedup.rougeLThreshold;
  if (neighbours) {
    const percentile = dedup.calibrationPercentile ?? 0.99;
    const realJaccard = quantile(neighbours.jaccard, percentile);
    const realRougeL = quantile(neighbours.rougeL, percentile);
    threshold = calibratedThreshold(realJaccard, dedup.threshold);
    rougeLThreshold = calibratedThreshold(realRougeL, dedup.rougeLThreshold);
    calibration = {
      queries: neighbours.jaccard.length,
      percentile,
      realJaccard: round3(realJaccard),
      realRougeL: round3(realRougeL),
      threshold: round3(threshold),
      rougeLThreshold: round3(rougeLThreshold),
    };
    lap('calibrate');
  }

  // Decontamination: a shared test n-gram, or a MinHash near-duplicate of a test record (whole sample or
  // prompt alone).
  const testFull = new RefIndex(testF.fullKeys, testF.count, dedup.bands);
  const testPrompt = new RefIndex(testF.promptKeys, testF.count, dedup.bands);
  for (let k = 0; k < m; k++) {
    const i = R + k;
    if (f.ngramHit[i]) {
      dropLive(k, 'test-ngram-overlap');
      continue;
    }
    const full = setAt(f.full, i);
    const prompt = setAt(f.prompt, i);
    let hit = testFull.firstMatch(
      f.fullKeys,
      i * dedup.bands,
      (r) => jaccard(full, setAt(testF.full, r)) >= threshold,
    );
    // a prompt that is all template (nothing varies) is not a copy of a test prompt
    if (hit < 0 && prompt.length > 0)
      hit = testPrompt.firstMatch(
        f.promptKeys,
        i * dedup.bands,
        (r) =>
          testF.prompt.offsets[r + 1]! > testF.prompt.offsets[r]! &&
          jaccard(prompt, setAt(testF.prompt, r)) >= threshold,
      );
    if (hit >= 0) dropLive(k, 'test-near-duplicate', { at: hit, test: true });
  }
  lap('decontaminate');

  nearDuplicates(f, R, alive, { bands: dedup.bands, threshold }, (k, j) =>
    dropLive(k, 'near-duplicate', { at: j, test: false }),
  );
  lap('near-duplicate');

  // ROUGE-L novelty on the prompt (instruction + context): generic instructions such as "Summarize the
  // passage" are novel when their context is.
  const similarPrompt = greedyMatchLive(f.promptKeys, dedup.bands, R, alive, true, (i, j) =>
    rougeLAtLeast(promptWords(i), promptWords(j), rougeLThreshold),
  );
  for (let k = 0; k < m; k++)
    if (similarPrompt[k]! >= 0) dropLive(k, 'rouge-l-similar', { at: similarPrompt[k]!, test: false });
  lap('rouge-l');

  const kept: T[] = [];
  for (let i = 0; i < n; i++) if (live[i]) kept.push(samples[i]!);

  const example = (r: TextFields): ExampleText => {
    const prompt = promptText(r).slice(0, EXAMPLE_PROMPT_CHARS);
    return {
      prompt,
      response: r.response.slice(0, EXAMPLE_RESPONSE_CHARS),
      template: masker && !masker.empty ? templateRanges(masker, prompt, r.category) : [],
    };
  };
  const examples: Partial<Record<DropReason, DropExample[]>> = {};
  for (const p of picked) {
    const out: DropExample = { sample: example(samples[p.i]!) };
    if (p.match) {
      const { at, test: inTest } = p.match;
      const other = inTest ? test[at]! : batch[at]!;
      out.matched = { ...example(other), kind: inTest ? 'test' : at < R ? 'reference' : 'sample' };
      if (!inTest) {
        const k = liveIds.indexOf(p.i);
        out.similarity = round3(
          p.why === 'rouge-l-similar'
            ? rougeL(promptWords(R + k), promptWords(at))
            : jaccard(setAt(f.full, R + k), setAt(f.full, at)),
        );
      }
    }
    (examples[p.why] ??= []).push(out);
  }
  return {
    kept,
    drops,
    examples,
    templates: templates ? describeTemplates(templates, realRecords) : [],
    calibration,
    thresholds: { threshold: round3(threshold), rougeLThreshold: round3(rougeLThreshold) },
    ...(dropped ? { dropped } : {}),
    timings,
  };
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;

/** MinHash-LSH near-duplicates (exact Jaccard of shingle sets confirms each LSH candidate). */
export function nearDuplicates(
  f: Features,
  refCount: number,
  alive: Uint8Array,
  dedup: Pick<DedupParams, 'bands' | 'threshold'>,
  onDuplicate: (k: number, match: number) => void,
): void {
  const match = greedyMatchLive(
    f.fullKeys,
    dedup.bands,
    refCount,
    alive,
    true,
    (i, j) => jaccard(setAt(f.full, i), setAt(f.full, j)) >= dedup.threshold,
  );
  for (let k = 0; k < alive.length; k++) if (match[k]! >= 0) onDuplicate(k, match[k]!);
}
