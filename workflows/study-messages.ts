// Queries and signals of the study workflow, and what it reports per cell.
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { EvaluationSummary, MigrationStatus } from '../common/types';

export type CellStatus = 'pending' | 'running' | 'skipped' | MigrationStatus;

/** One cycle of a cell: what Figure 2 plots against the synthetic volume. */
export interface CellCycle {
  cycle: number;
  syntheticSamples: number;
  evaluation: EvaluationSummary;
}

export interface CellProgress {
  key: string;
  task: string;
  student: string;
  generator: string;
  volume: number;
  /** the child migration's workflow id, derived from the study's id and the cell key */
  workflowId: string;
  status: CellStatus;
  /** budget the cell was started with; USD it spent once finished */
  budgetUsd: number;
  spentUsd: number;
  /** the generator's own answers, judged on the cell's test prompts */
  teacher: EvaluationSummary | null;
  /** other service LLMs' answers judged in the cell's migration (evaluation.baselines) */
  baselines?: { model: string; evaluation: EvaluationSummary }[];
  cycles: CellCycle[];
  /** why the cell failed or was skipped */
  detail: string;
}

export interface StudyProgress {
  name: string;
  status: 'running' | 'completed' | 'stopped' | 'budget-exhausted' | 'cancelled';
  maxConcurrent: number;
  maxUsd: number;
  spentUsd: number;
  stopRequested: boolean;
  cells: CellProgress[];
}

export const studyProgressQuery = defineQuery<StudyProgress>('studyProgress');
/** Start no more cells; running cells finish their cycle and stop (their stopAfterCycle). */
export const stopStudySignal = defineSignal<[reason?: string]>('stopStudy');
