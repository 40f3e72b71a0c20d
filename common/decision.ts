// The stop rule, pure so the workflow can evaluate it: which number is compared, against what.
import type { TargetConfig } from './config';
import type { EvaluationSummary, JudgeSummary } from './types';

/** The statistic the target names, averaged over judges (the 'all' row when the summary has one). */
export function scoreOf(target: TargetConfig, summary: EvaluationSummary): number {
  const rows: JudgeSummary[] = summary.judges.filter((j) => j.judge === 'all');
  const use = rows.length ? rows : summary.judges;
  if (!use.length) return 0;
  const values = use.map((row) => {
    const m = row[target.metric];
    if (target.statistic === 'mean') return m.mean;
    const threshold = target.statistic === 'coverage50' ? '50' : '70';
    return m.coverage[threshold] ?? 0;
  });
  return values.reduce((a, b) => a + b, 0) / values.length;
}

/** The score the student must reach: absolute, or a share of the teacher's own score. */
export function targetValue(target: TargetConfig, teacher: EvaluationSummary | null): number {
  if (target.atLeast !== undefined) return target.atLeast;
  if (!teacher) throw new Error('a target relative to the teacher needs the teacher baseline');
  return Math.min(100, scoreOf(target, teacher) * target.relativeToTeacher!);
}
