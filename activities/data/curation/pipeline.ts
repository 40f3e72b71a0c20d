// The curation pipeline over one batch of candidate samples: exact dedup, quality rules,
// decontamination against the test split, MinHash-LSH near-duplicates against references and the
// batch itself, and the ROUGE-L novelty filter on LSH candidates. Every drop is counted by reason.
import { dropExactDuplicates } from './exact-dedup';
import {
  collectNgrams,
  computeFeatures,
  promptText,
  setAt,
  type FeatureParams,
  type Features,
  type TextFields,
} from './features';
import { computeFeaturesParallel } from './features-pool';
import { jaccard } from './hashing';
import { greedyMatch, LshBuckets } from './lsh-buckets';
import { qualityIssue, type QualityProfile } from './quality';
import { RefIndex } from './ref-index';
import { rougeLAtLeast } from './rouge';
import { plainWords } from './text';

export interface DedupParams {
  numPerm: number;
  bands: number;
  threshold: number;
  shingleSize: number;
  rougeLThreshold: number;
  decontaminationNgram: number;
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
  /** the test split: prompts and references that must not leak into training data */
  test: readonly TextFields[];
  /** null skips the quality rules (benchmarks of the similarity steps) */
  quality: QualityProfile | null;
  dedup: DedupParams;
  /** worker threads for signatures; default: available cores, at most 4 */
  threads?: number;
  /** MinHash permutation seed; fixed so that reruns keep the same samples */
  seed?: number;
  /** called as each step ends, with its name (activities heartbeat here) */
  onStep?: (step: string) => void;
}

export interface CurationOutput<T> {
  kept: T[];
  drops: Partial<Record<DropReason, number>>;
  /** seconds per step, for logs and benchmarks */
  timings: Record<string, number>;
}

export async function curate<T extends TextFields & { category: string }>(
  input: CurationInput<T>,
): Promise<CurationOutput<T>> {
  const { samples, references, test, dedup } = input;
  const n = samples.length;
  const live = new Uint8Array(n).fill(1);
  const drops: Partial<Record<DropReason, number>> = {};
  const timings: Record<string, number> = {};
  const drop = (i: number, why: DropReason) => {
    live[i] = 0;
    drops[why] = (drops[why] ?? 0) + 1;
  };
  let t = performance.now();
  const lap = (name: string) => {
    const now = performance.now();
    timings[name] = Math.round(now - t) / 1000;
    t = now;
    input.onStep?.(name);
  };

  const exact = dropExactDuplicates(references, samples, live);
  if (exact) drops['exact-duplicate'] = exact;
  lap('exact');

  if (input.quality) {
    for (let i = 0; i < n; i++) {
      if (!live[i]) continue;
      const why = qualityIssue(samples[i]!, input.quality);
      if (why) drop(i, why);
    }
    lap('quality');
  }

  const params: FeatureParams = {
    numPerm: dedup.numPerm,
    bands: dedup.bands,
    shingleSize: dedup.shingleSize,
    ngram: dedup.decontaminationNgram,
    seed: input.seed ?? 1,
  };
  const testNgrams = collectNgrams(test, dedup.decontaminationNgram);
  const testF = computeFeatures(test, params);
  // Features of references and of the samples still live, in one parallel pass: [references..., live...].
  const liveIds: number[] = [];
  for (let i = 0; i < n; i++) if (live[i]) liveIds.push(i);
  const batch: TextFields[] = [...references, ...liveIds.map((i) => samples[i]!)];
  const f = await computeFeaturesParallel(batch, params, { testNgrams, threads: input.threads });
  lap('features');

  const R = references.length;
  const m = liveIds.length;
  const alive = new Uint8Array(m).fill(1);
  const dropLive = (k: number, why: DropReason) => {
    alive[k] = 0;
    drop(liveIds[k]!, why);
  };

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
    const hit =
      testFull.firstMatch(
        f.fullKeys,
        i * dedup.bands,
        (r) => jaccard(full, setAt(testF.full, r)) >= dedup.threshold,
      ) >= 0 ||
      testPrompt.firstMatch(
        f.promptKeys,
        i * dedup.bands,
        (r) => jaccard(prompt, setAt(testF.prompt, r)) >= dedup.threshold,
      ) >= 0;
    if (hit) dropLive(k, 'test-near-duplicate');
  }
  lap('decontaminate');

  nearDuplicates(f, R, m, alive, dedup, (k) => dropLive(k, 'near-duplicate'));
  lap('near-duplicate');

  // ROUGE-L novelty on the prompt (instruction + context): generic instructions such as "Summarize the
  // passage" are novel when their context is.
  const words: (string[] | undefined)[] = new Array(batch.length);
  const promptWords = (i: number) => (words[i] ??= plainWords(promptText(batch[i]!)));
  const promptBuckets = new LshBuckets(f.promptKeys, R + m, dedup.bands);
  const similarPrompt = greedyMatch(promptBuckets, R, alive, true, (i, j) =>
    rougeLAtLeast(promptWords(i), promptWords(j), dedup.rougeLThreshold),
  );
  for (let k = 0; k < m; k++) if (similarPrompt[k]! >= 0) dropLive(k, 'rouge-l-similar');
  lap('rouge-l');

  const kept: T[] = [];
  for (let i = 0; i < n; i++) if (live[i]) kept.push(samples[i]!);
  return { kept, drops, timings };
}

/** MinHash-LSH near-duplicates (exact Jaccard of shingle sets confirms each LSH candidate). */
export function nearDuplicates(
  f: Features,
  refCount: number,
  sampleCount: number,
  alive: Uint8Array,
  dedup: Pick<DedupParams, 'bands' | 'threshold'>,
  onDuplicate: (k: number, match: number) => void,
): LshBuckets {
  const buckets = new LshBuckets(f.fullKeys, refCount + sampleCount, dedup.bands);
  const match = greedyMatch(
    buckets,
    refCount,
    alive,
    true,
    (i, j) => jaccard(setAt(f.full, i), setAt(f.full, j)) >= dedup.threshold,
  );
  for (let k = 0; k < sampleCount; k++) if (match[k]! >= 0) onDuplicate(k, match[k]!);
  return buckets;
}
