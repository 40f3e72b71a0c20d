// Which cycle is the migration's best: shared by the workflow (the adapter it promotes), the report (the
// "best" tag and the matching ratio) and the efficacy benchmark, so all three name the same cycle.
//
// Order: the target's judge metric first (it is what the user asked for and what the stop rule reads).
// Judge scores tie often — a small judge gives many answers the same score, or 0 to all of them — so a tie
// goes to the deterministic reference metric when both cycles have it (no judge noise in it). A tie on both
// goes to the later cycle: it was trained on everything the earlier one was plus the synthetic data added
// since, so with nothing to tell them apart it is the better-informed adapter (and the one the last stop
// decision looked at).

/** What the order reads of one cycle. Missing (or NaN) numbers rank below every number. */
export interface CycleRank {
  cycle: number;
  /** the target's judge metric and statistic */
  score: number | null | undefined;
  /** the deterministic reference metric's mean, when evaluation.reference is set */
  reference?: number | null | undefined;
}

const num = (x: number | null | undefined): number =>
  x === null || x === undefined || Number.isNaN(x) ? -Infinity : x;

/** Positive when `a` ranks above `b`, negative when below, 0 only for the same cycle number. */
export function compareCycles(a: CycleRank, b: CycleRank): number {
  const score = num(a.score) - num(b.score);
  if (score !== 0 && !Number.isNaN(score)) return score;
  const ref = num(a.reference) - num(b.reference);
  if (ref !== 0 && !Number.isNaN(ref)) return ref;
  return a.cycle - b.cycle;
}

/** The best of `items` by compareCycles on `rank(item)`; null for none. */
export function pickBestCycle<T>(items: readonly T[], rank: (item: T) => CycleRank): T | null {
  let best: T | null = null;
  let bestRank: CycleRank | null = null;
  for (const item of items) {
    const r = rank(item);
    if (bestRank === null || compareCycles(r, bestRank) > 0) {
      best = item;
      bestRank = r;
    }
  }
  return best;
}
