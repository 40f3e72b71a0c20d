// Thresholds calibrated on the user's own records: how similar is each real coverage record to its
// nearest real neighbour? A synthetic sample counts as too similar only when it is closer to what it
// matched than real records typically are to theirs (the configured percentile of the real nearest-
// neighbour similarities), and never below the configured absolute threshold.
import { setAt, type Features } from './features';
import { jaccard } from './hashing';
import { rougeL } from './rouge';

/** Real records whose nearest neighbour is measured (a deterministic stride over the real records). */
const QUERIES = 1000;
/** Real records each query is compared with (all of them up to this many, else a stride). */
const POOL = 3000;
/** Nearest ROUGE-L neighbour: exact ROUGE-L over the prompts closest by content-word Jaccard. */
const ROUGE_CANDIDATES = 8;
/** A calibrated threshold never rises above this: near-copies are dropped however alike real data is. */
export const CALIBRATED_CEILING = 0.95;

export interface Calibration {
  /** real records measured */
  queries: number;
  /** the percentile used (config `calibrationPercentile`) */
  percentile: number;
  /** that percentile of the real nearest-neighbour Jaccard (variable part + response) */
  realJaccard: number;
  /** that percentile of the real nearest-neighbour ROUGE-L (variable part of the prompt) */
  realRougeL: number;
  /** the thresholds curation used */
  threshold: number;
  rougeLThreshold: number;
}

function stride(count: number, want: number): number[] {
  if (count <= want) return Array.from({ length: count }, (_, i) => i);
  const step = count / want;
  return Array.from({ length: want }, (_, i) => Math.floor(i * step));
}

export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  const at = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[at]!;
}

/**
 * Nearest-neighbour similarities among the first `real` records of `f`. `promptWords(i)` gives the
 * variable prompt words of record i for ROUGE-L.
 */
export function realNeighbourSimilarities(
  f: Features,
  real: number,
  promptWords: (i: number) => string[],
): { jaccard: number[]; rougeL: number[] } {
  const queries = stride(real, QUERIES);
  const pool = stride(real, POOL);
  const nnJ: number[] = [];
  const nnR: number[] = [];
  const top: { j: number; s: number }[] = [];
  for (const i of queries) {
    const full = setAt(f.full, i);
    const prompt = setAt(f.prompt, i);
    let bestJ = 0;
    top.length = 0;
    for (const j of pool) {
      if (j === i) continue;
      const sj = jaccard(full, setAt(f.full, j));
      if (sj > bestJ) bestJ = sj;
      const sp = jaccard(prompt, setAt(f.prompt, j));
      if (top.length < ROUGE_CANDIDATES || sp > top[top.length - 1]!.s) {
        top.push({ j, s: sp });
        top.sort((a, b) => b.s - a.s);
        if (top.length > ROUGE_CANDIDATES) top.pop();
      }
    }
    let bestR = 0;
    const wi = promptWords(i);
    for (const { j } of top) bestR = Math.max(bestR, rougeL(wi, promptWords(j)));
    nnJ.push(bestJ);
    nnR.push(bestR);
  }
  nnJ.sort((a, b) => a - b);
  nnR.sort((a, b) => a - b);
  return { jaccard: nnJ, rougeL: nnR };
}

/** The rule: the percentile of real nearest-neighbour similarity, floored at the absolute threshold. */
export function calibratedThreshold(realPercentile: number, absolute: number): number {
  return Math.max(absolute, Math.min(CALIBRATED_CEILING, realPercentile));
}
