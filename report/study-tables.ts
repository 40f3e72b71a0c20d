// A study's collated results: Table 1 (a baseline row per service LLM, the best local row per student and
// "Perf. Matching" = best local ÷ best service, per judge and metric, of the mean and of coverage ≥ 50, as the
// paper prints it: "84.20% / 95.88%") and Figure 2's points (mean, coverage
// ≥ 50 and ≥ 70 against synthetic volume, per judge and data generator).
import type { JudgeMetric } from '../common/config';
import type { EvaluationSummary, JudgeSummary, MetricSummary } from '../common/types';
import type { CellProgress, StudyProgress } from '../workflows/study-messages';

export const STUDY_METRICS: JudgeMetric[] = ['precision', 'similarity'];

export interface Table1Row {
  kind: 'service' | 'local';
  /** the service LLM, or the student */
  model: string;
  /** where a local row's best came from */
  source: string;
  /** the cell a local row's best came from (the first cell of a service row's data generator) */
  cell: string;
  evaluation: EvaluationSummary;
}

export interface Table1 {
  task: string;
  /** judge names, 'all' (mean of judges) last */
  judges: string[];
  rows: Table1Row[];
  /**
   * judge -> metric -> best local ÷ best service in %, of the mean score and of coverage ≥ 50 (the paper's
   * "mean% / coverage%"); each side's best is taken per column, as in the paper; null when a side is missing.
   */
  matching: Record<string, Record<JudgeMetric, Matching>>;
}

export interface Matching {
  mean: number | null;
  coverage50: number | null;
}

/** best local ÷ best service in %, null when a side is missing or the service's best is 0 */
export function ratioOfBest(local: number[], service: number[]): number | null {
  if (local.length === 0 || service.length === 0) return null;
  const s = Math.max(...service);
  return s === 0 ? null : (100 * Math.max(...local)) / s;
}

const allRow = (e: EvaluationSummary): JudgeSummary | undefined =>
  e.judges.find((j) => j.judge === 'all') ?? e.judges[0];

/** The number a local row is ranked by: the mean over judges of precision and similarity. */
export function overall(e: EvaluationSummary): number {
  const row = allRow(e);
  return row ? (row.precision.mean + row.similarity.mean) / 2 : -1;
}

function judgeNames(rows: Table1Row[]): string[] {
  const names = new Set<string>();
  for (const r of rows) for (const j of r.evaluation.judges) names.add(j.judge);
  const list = [...names].filter((n) => n !== 'all');
  return names.has('all') ? [...list, 'all'] : list;
}

export function metricOf(e: EvaluationSummary, judge: string, metric: JudgeMetric) {
  return e.judges.find((j) => j.judge === judge)?.[metric];
}

/** One Table 1 per task. */
export function table1(progress: StudyProgress): Table1[] {
  const tasks = [...new Set(progress.cells.map((c) => c.task))];
  return tasks.map((task) => {
    const cells = progress.cells.filter((c) => c.task === task);
    const rows: Table1Row[] = [];
    for (const generator of [...new Set(cells.map((c) => c.generator))]) {
      const withBaseline = cells.find((c) => c.generator === generator && c.teacher);
      if (withBaseline)
        rows.push({
          kind: 'service',
          model: generator,
          source: 'own answers',
          cell: withBaseline.key,
          evaluation: withBaseline.teacher!,
        });
    }
    // service LLMs a cell's migration judged besides its generator (evaluation.baselines), once each
    for (const c of cells)
      for (const b of c.baselines ?? [])
        if (!rows.some((r) => r.kind === 'service' && r.model === b.model))
          rows.push({
            kind: 'service',
            model: b.model,
            source: `own answers (baseline of cell ${c.key})`,
            cell: c.key,
            evaluation: b.evaluation,
          });
    for (const student of [...new Set(cells.map((c) => c.student))]) {
      let best: { cell: CellProgress; cycle: CellProgress['cycles'][number] } | null = null;
      for (const cell of cells.filter((c) => c.student === student))
        for (const cycle of cell.cycles)
          if (!best || overall(cycle.evaluation) > overall(best.cycle.evaluation)) best = { cell, cycle };
      if (best)
        rows.push({
          kind: 'local',
          model: student,
          source: `data by ${best.cell.generator}, ${best.cycle.syntheticSamples} synthetic, cycle ${best.cycle.cycle}`,
          cell: best.cell.key,
          evaluation: best.cycle.evaluation,
        });
    }
    const judges = judgeNames(rows);
    const matching: Table1['matching'] = {};
    for (const judge of judges) {
      const perMetric = {} as Record<JudgeMetric, Matching>;
      for (const metric of STUDY_METRICS) {
        const values = (kind: Table1Row['kind'], stat: (m: MetricSummary) => number | undefined) =>
          rows
            .filter((r) => r.kind === kind)
            .map((r) => {
              const m = metricOf(r.evaluation, judge, metric);
              return m ? stat(m) : undefined;
            })
            .filter((v): v is number => v !== undefined);
        const mean = (m: MetricSummary) => m.mean;
        const cov50 = (m: MetricSummary) => m.coverage['50'];
        perMetric[metric] = {
          mean: ratioOfBest(values('local', mean), values('service', mean)),
          coverage50: ratioOfBest(values('local', cov50), values('service', cov50)),
        };
      }
      matching[judge] = perMetric;
    }
    return { task, judges, rows, matching };
  });
}

export interface CoveragePoint {
  volume: number;
  mean: number;
  coverage50: number | null;
  coverage70: number | null;
}

export interface CoverageSeries {
  task: string;
  judge: string;
  generator: string;
  student: string;
  metric: JudgeMetric;
  points: CoveragePoint[];
}

/** Figure 2: per task, judge, data generator and student, each metric against the synthetic volume. */
export function fig2Series(progress: StudyProgress): CoverageSeries[] {
  const series = new Map<string, CoverageSeries>();
  for (const cell of progress.cells)
    for (const cycle of cell.cycles)
      for (const j of cycle.evaluation.judges)
        for (const metric of STUDY_METRICS) {
          const id = [cell.task, j.judge, cell.generator, cell.student, metric].join('|');
          let s = series.get(id);
          if (!s) {
            s = {
              task: cell.task,
              judge: j.judge,
              generator: cell.generator,
              student: cell.student,
              metric,
              points: [],
            };
            series.set(id, s);
          }
          const m = j[metric];
          s.points.push({
            volume: cycle.syntheticSamples,
            mean: m.mean,
            coverage50: m.coverage['50'] ?? null,
            coverage70: m.coverage['70'] ?? null,
          });
        }
  for (const s of series.values()) s.points.sort((a, b) => a.volume - b.volume);
  return [...series.values()];
}
