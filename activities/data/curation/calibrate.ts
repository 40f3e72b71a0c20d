// Thresholds calibrated on the user's own records: how similar is each real coverage record to its
// nearest real neighbour? A synthetic sample counts as too similar only when it is closer to what it
// matched than real records typically are to theirs (the configured percentile of the real nearest-
// neighbour similarities), and never below the configured absolute threshold.
import { setAt, type Features, type FlatSets } from './features';
import { rougeL } from './rouge';

/** Real records whose nearest neighbour is measured (a deterministic stride over the real records). */
export const CALIBRATION_QUERIES = 1000;
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
 * variable prompt words of record i for ROUGE-L. Exact Jaccard against every pool record, by overlap
 * counting over an inverted index of the pool (records that share no shingle have Jaccard 0), so the
 * cost follows the shared shingles rather than queries x pool.
 */
export function realNeighbourSimilarities(
  f: Features,
  real: number,
  promptWords: (i: number) => string[],
): NeighbourSimilarities {
  const queries = stride(real, CALIBRATION_QUERIES);
  const pool = stride(real, POOL);
  const fullIndex = new OverlapIndex(f.full, pool);
  const promptIndex = new OverlapIndex(f.prompt, pool);
  const nnJ: number[] = [];
  const nnR: number[] = [];
  for (const i of queries) {
    let bestJ = 0;
    fullIndex.similarities(setAt(f.full, i), i, (_, s) => {
      if (s > bestJ) bestJ = s;
    });
    // the ROUGE_CANDIDATES most similar prompts, ties to the earlier pool record; the pool records that
    // share nothing (similarity 0) follow in pool order
    const top: { at: number; s: number }[] = [];
    promptIndex.similarities(setAt(f.prompt, i), i, (at, s) => top.push({ at, s }));
    top.sort((a, b) => b.s - a.s || a.at - b.at);
    top.length = Math.min(top.length, ROUGE_CANDIDATES);
    if (top.length < ROUGE_CANDIDATES) {
      const have = new Set(top.map((t) => t.at));
      for (let at = 0; at < pool.length && top.length < ROUGE_CANDIDATES; at++)
        if (pool[at] !== i && !have.has(at)) top.push({ at, s: 0 });
    }
    const wi = promptWords(i);
    nnR.push(
      bestRougeL(
        wi,
        top.map(({ at }) => promptWords(pool[at]!)),
      ),
    );
    nnJ.push(bestJ);
  }
  nnJ.sort((a, b) => a - b);
  nnR.sort((a, b) => a - b);
  return { jaccard: nnJ, rougeL: nnR };
}

/**
 * The highest ROUGE-L of `query` against the candidates. The LCS is at most the words the two share
 * (as multisets), which bounds F1 by 2 * shared / (|a| + |b|): candidates are taken by that bound, and
 * the exact LCS is skipped for those whose bound cannot beat the best so far.
 */
function bestRougeL(query: readonly string[], candidates: readonly (readonly string[])[]): number {
  const counts = new Map<string, number>();
  for (const w of query) counts.set(w, (counts.get(w) ?? 0) + 1);
  const bounded = candidates.map((c) => {
    const left = new Map(counts);
    let shared = 0;
    for (const w of c) {
      const k = left.get(w);
      if (k) {
        shared++;
        left.set(w, k - 1);
      }
    }
    const bound = query.length + c.length === 0 ? 1 : (2 * shared) / (query.length + c.length);
    return { c, bound };
  });
  bounded.sort((a, b) => b.bound - a.bound);
  let best = 0;
  for (const { c, bound } of bounded) {
    if (bound <= best) break;
    best = Math.max(best, rougeL(query, c));
  }
  return best;
}

/** Exact Jaccard of a query set against every pool set, from an inverted index of the pool's sets. */
class OverlapIndex {
  private readonly postings = new Map<number, number[]>();
  private readonly sizes: Uint32Array;
  /** pool positions whose set is empty (Jaccard 1 with an empty query) */
  private readonly empty: number[] = [];
  private readonly counts: Uint32Array;
  private readonly touched: number[] = [];

  constructor(
    sets: FlatSets,
    private readonly pool: readonly number[],
  ) {
    this.sizes = new Uint32Array(pool.length);
    this.counts = new Uint32Array(pool.length);
    pool.forEach((rec, at) => {
      const set = setAt(sets, rec);
      this.sizes[at] = set.length;
      if (set.length === 0) this.empty.push(at);
      for (let k = 0; k < set.length; k++) {
        const list = this.postings.get(set[k]!);
        if (list) list.push(at);
        else this.postings.set(set[k]!, [at]);
      }
    });
  }

  /** Calls visit(poolPosition, jaccard) for every pool record but `self` with a Jaccard above 0. */
  similarities(query: Uint32Array, self: number, visit: (at: number, s: number) => void): void {
    const { counts, touched, sizes, pool } = this;
    if (query.length === 0) {
      for (const at of this.empty) if (pool[at] !== self) visit(at, 1);
      return;
    }
    for (let k = 0; k < query.length; k++) {
      const list = this.postings.get(query[k]!);
      if (!list) continue;
      for (const at of list) {
        if (counts[at] === 0) touched.push(at);
        counts[at] = counts[at]! + 1;
      }
    }
    for (const at of touched) {
      const inter = counts[at]!;
      counts[at] = 0;
      if (pool[at] !== self) visit(at, inter / (query.length + sizes[at]! - inter));
    }
    touched.length = 0;
  }
}

/** Sorted nearest-neighbour similarities of the real records measured. */
export interface NeighbourSimilarities {
  jaccard: number[];
  rougeL: number[];
}

/** The rule: the percentile of real nearest-neighbour similarity, floored at the absolute threshold. */
export function calibratedThreshold(realPercentile: number, absolute: number): number {
  return Math.max(absolute, Math.min(CALIBRATED_CEILING, realPercentile));
}
