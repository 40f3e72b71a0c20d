// Pure evaluation math (paper §3.4, Table 1): no I/O, no clocks, no randomness, so the workflow may import it.
// Scores are on the 0-100 scale; percentages (coverage, pairwise rates) are 0-100 too.
import type { TargetConfig } from './config';
import type {
  EvaluationDecision,
  EvaluationSummary,
  JudgeSummary,
  MetricSummary,
  RankAgreement,
} from './types';

export type Aggregate = 'mean' | 'median';

export function mean(xs: readonly number[]): number {
  if (xs.length === 0) throw new RangeError('mean of no values');
  let s = 0;
  for (const x of xs) s += x;
  return s / xs.length;
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new RangeError('median of no values');
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Folds the K repeats of one sample into one score. */
export function aggregate(xs: readonly number[], how: Aggregate): number {
  return how === 'median' ? median(xs) : mean(xs);
}

/** % of scores >= threshold (the paper's coverage percentage). */
export function coverage(scores: readonly number[], threshold: number): number {
  if (scores.length === 0) throw new RangeError('coverage of no values');
  let hit = 0;
  for (const s of scores) if (s >= threshold) hit++;
  return (100 * hit) / scores.length;
}

/** Key under which MetricSummary.coverage holds a threshold: 50 -> "50", 62.5 -> "62.5". */
export function thresholdKey(threshold: number): string {
  return String(threshold);
}

/** Mean, median and coverage % of per-sample scores; all zero with samples = 0 when nothing was scored. */
export function summarizeMetric(scores: readonly number[], thresholds: readonly number[]): MetricSummary {
  if (scores.length === 0) {
    return {
      mean: 0,
      median: 0,
      coverage: Object.fromEntries(thresholds.map((t) => [thresholdKey(t), 0])),
      samples: 0,
    };
  }
  return {
    mean: round(mean(scores)),
    median: round(median(scores)),
    coverage: Object.fromEntries(thresholds.map((t) => [thresholdKey(t), round(coverage(scores, t))])),
    samples: scores.length,
  };
}

/** "Performance matching" as in the paper's Table 1: student / teacher; null when the teacher scored 0. */
export function matchingRatio(student: number, teacher: number): number | null {
  if (!Number.isFinite(student) || !Number.isFinite(teacher) || teacher === 0) return null;
  return student / teacher;
}

/** Average ranks (1-based), ties sharing the mean of the ranks they span. */
export function ranks(xs: readonly number[]): number[] {
  const order = xs.map((x, i) => [x, i] as const).sort((a, b) => a[0] - b[0]);
  const r = new Array<number>(xs.length);
  for (let i = 0; i < order.length;) {
    let j = i;
    while (j + 1 < order.length && order[j + 1]![0] === order[i]![0]) j++;
    const avg = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) r[order[k]![1]] = avg;
    i = j + 1;
  }
  return r;
}

function pearson(a: readonly number[], b: readonly number[]): number | null {
  const ma = mean(a);
  const mb = mean(b);
  let cov = 0;
  let va = 0;
  let vb = 0;
  for (let i = 0; i < a.length; i++) {
    const da = a[i]! - ma;
    const db = b[i]! - mb;
    cov += da * db;
    va += da * da;
    vb += db * db;
  }
  if (va === 0 || vb === 0) return null;
  return cov / Math.sqrt(va * vb);
}

function checkPaired(a: readonly number[], b: readonly number[]): void {
  if (a.length !== b.length)
    throw new RangeError(`paired samples differ in length: ${a.length} vs ${b.length}`);
}

/** Spearman's rho (Pearson on average ranks); null for n < 2 or when either side is constant. */
export function spearman(a: readonly number[], b: readonly number[]): number | null {
  checkPaired(a, b);
  if (a.length < 2) return null;
  return pearson(ranks(a), ranks(b));
}

/** Kendall's tau-b (tie-corrected); null for n < 2 or when either side is constant. */
export function kendallTauB(a: readonly number[], b: readonly number[]): number | null {
  checkPaired(a, b);
  const n = a.length;
  if (n < 2) return null;
  let concordant = 0;
  let discordant = 0;
  let tiesA = 0;
  let tiesB = 0;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const da = Math.sign(a[i]! - a[j]!);
      const db = Math.sign(b[i]! - b[j]!);
      if (da === 0 && db === 0) continue;
      if (da === 0) tiesA++;
      else if (db === 0) tiesB++;
      else if (da === db) concordant++;
      else discordant++;
    }
  }
  const denom = Math.sqrt((concordant + discordant + tiesA) * (concordant + discordant + tiesB));
  if (denom === 0) return null;
  return (concordant - discordant) / denom;
}

export function rankAgreement(a: readonly number[], b: readonly number[]): RankAgreement {
  const rho = spearman(a, b);
  const tau = kendallTauB(a, b);
  return {
    spearman: rho === null ? null : round(rho),
    kendall: tau === null ? null : round(tau),
    n: a.length,
  };
}

// ---------------------------------------------------------------------------------------------
// Pairwise comparison. The judge sees two responses labelled A (shown first) and B and names the better one.

export type PositionVerdict = 'A' | 'B' | 'tie';
export type PairwiseOutcome = 'win' | 'tie' | 'loss';

/**
 * Combines the two orders of one comparison, from the student's point of view. `studentFirst` is the verdict
 * when the student was shown as A, `studentSecond` when it was shown as B. A win or loss counts only when both
 * orders agree; otherwise the result is a tie and the pair is a position disagreement.
 */
export function bothOrderVerdict(
  studentFirst: PositionVerdict,
  studentSecond: PositionVerdict,
): { outcome: PairwiseOutcome; positionDisagreement: boolean } {
  const first: PairwiseOutcome = studentFirst === 'A' ? 'win' : studentFirst === 'B' ? 'loss' : 'tie';
  const second: PairwiseOutcome = studentSecond === 'B' ? 'win' : studentSecond === 'A' ? 'loss' : 'tie';
  if (first === second) return { outcome: first, positionDisagreement: false };
  return { outcome: 'tie', positionDisagreement: true };
}

export function summarizePairwise(
  pairs: readonly { outcome: PairwiseOutcome; positionDisagreement: boolean }[],
): NonNullable<JudgeSummary['pairwise']> {
  const n = pairs.length;
  const pct = (k: number) => (n === 0 ? 0 : round((100 * k) / n));
  let win = 0;
  let tie = 0;
  let loss = 0;
  let disagree = 0;
  for (const p of pairs) {
    if (p.outcome === 'win') win++;
    else if (p.outcome === 'loss') loss++;
    else tie++;
    if (p.positionDisagreement) disagree++;
  }
  return { win: pct(win), tie: pct(tie), loss: pct(loss), positionDisagreement: pct(disagree), pairs: n };
}

// ---------------------------------------------------------------------------------------------
// The stop rule.

export const ALL_JUDGES = 'all';

/** The row the decision reads: 'all' (every judge pooled), or the only row of a one-judge summary. */
export function overallRow(summary: EvaluationSummary): JudgeSummary {
  const all = summary.judges.find((j) => j.judge === ALL_JUDGES);
  if (all) return all;
  if (summary.judges.length === 1) return summary.judges[0]!;
  throw new RangeError(
    `evaluation summary has ${summary.judges.length} judge rows and no '${ALL_JUDGES}' row`,
  );
}

/** The value of a target statistic in a summary row; null when the row scored no sample. */
export function statisticOf(
  row: JudgeSummary,
  metric: 'similarity' | 'precision',
  statistic: 'mean' | 'coverage50' | 'coverage70',
): number | null {
  const m = row[metric];
  if (m.samples === 0) return null;
  if (statistic === 'mean') return m.mean;
  const key = statistic === 'coverage50' ? '50' : '70';
  const v = m.coverage[key];
  if (v === undefined) {
    throw new RangeError(
      `target statistic ${statistic} needs coverage threshold ${key} in evaluation.coverageThresholds (have ${Object.keys(m.coverage).join(', ')})`,
    );
  }
  return v;
}

/** Stop when the student's statistic reaches the target (absolute, or a share of the teacher's). */
export function decide(
  target: TargetConfig,
  student: EvaluationSummary,
  teacher?: EvaluationSummary,
): EvaluationDecision {
  const { metric, statistic } = target;
  // the compound rule reads the lower of the two metrics: reaching it means both reached it
  const valueOf = (summary: EvaluationSummary): number | null => {
    const row = overallRow(summary);
    if (!target.bothMetrics) return statisticOf(row, metric, statistic);
    const both = [statisticOf(row, 'similarity', statistic), statisticOf(row, 'precision', statistic)];
    return both.some((v) => v === null) ? null : Math.min(...(both as number[]));
  };
  const value = valueOf(student);
  const teacherValue = teacher ? valueOf(teacher) : undefined;
  const base: EvaluationDecision = {
    action: 'continue',
    reason: 'below-target',
    metric,
    statistic,
    value,
    threshold: null,
  };
  if (teacherValue !== undefined) {
    base.teacherValue = teacherValue;
    base.matching =
      value === null || teacherValue === null ? null : roundOrNull(matchingRatio(value, teacherValue));
  }
  if (target.relativeToTeacher !== undefined) {
    base.relativeToTeacher = target.relativeToTeacher;
    if (teacherValue === undefined || teacherValue === null) return { ...base, reason: 'no-teacher-score' };
    // Capped: a share above 1 of a near-perfect teacher must not become an unreachable target over 100.
    base.threshold = Math.min(100, round(target.relativeToTeacher * teacherValue));
  } else {
    base.threshold = target.atLeast ?? null;
  }
  if (value === null) return { ...base, reason: 'no-scores' };
  if (base.threshold !== null && value >= base.threshold)
    return { ...base, action: 'stop', reason: 'target-met' };
  return base;
}

function round(x: number): number {
  return Math.round(x * 1e4) / 1e4;
}

function roundOrNull(x: number | null): number | null {
  return x === null ? null : round(x);
}
