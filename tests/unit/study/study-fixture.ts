// A small study's progress for the study-report unit tests: one task, two students × two data generators
// (gpt, claude), two judges; each generator's baseline and each cell's cycles with fixed scores.
import type { EvaluationSummary } from '../../../common/types';
import type { CellProgress, StudyProgress } from '../../../workflows/study-messages';

export function summary(scores: Record<string, number>): EvaluationSummary {
  const metric = (mean: number) => ({
    mean,
    median: mean,
    coverage: { '50': mean >= 50 ? 100 : 0, '70': mean >= 70 ? 100 : 0 },
    samples: 4,
  });
  const values = Object.values(scores);
  const all = values.reduce((a, b) => a + b, 0) / values.length;
  return {
    judges: [...Object.entries(scores), ['all', all] as const].map(([judge, v]) => ({
      judge,
      similarity: metric(v),
      precision: metric(v),
      failed: 0,
    })),
    agreement: {},
  };
}

export function cell(
  student: string,
  generator: string,
  teacher: number,
  cycles: [number, number][],
): CellProgress {
  return {
    key: `${student}.${generator}`,
    task: 'qa',
    student,
    generator,
    volume: 6,
    workflowId: `s.${student}.${generator}`,
    status: 'target-not-met',
    budgetUsd: 1,
    spentUsd: 0.5,
    teacher: summary({ j1: teacher, j2: teacher - 10 }),
    cycles: cycles.map(([volume, score], cycle) => ({
      cycle,
      syntheticSamples: volume,
      evaluation: summary({ j1: score, j2: score }),
    })),
    detail: '',
  };
}

export const study: StudyProgress = {
  name: 's',
  status: 'completed',
  maxConcurrent: 2,
  maxUsd: 10,
  spentUsd: 2,
  stopRequested: false,
  cells: [
    cell('tiny', 'gpt', 80, [
      [0, 30],
      [100, 50],
    ]),
    cell('small', 'gpt', 80, [[0, 40]]),
    cell('tiny', 'claude', 90, [[0, 20]]),
    cell('small', 'claude', 90, [
      [0, 45],
      [100, 72],
    ]),
  ],
};
