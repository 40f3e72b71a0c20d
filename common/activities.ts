// The activity interfaces the workflows call, grouped by the task queue that serves them, so GPU-waiting,
// LLM-calling and data-crunching workers can be scaled apart.
import type * as T from './types';
import type { MigrationConfig } from './config';
import type { Progress } from './progress';

export interface WriteReportInput {
  migrationId: string;
  config: MigrationConfig;
  progress: Progress;
}

export const TASK_QUEUES = {
  /** the workflows themselves and light bookkeeping */
  workflow: 'llamaduo',
  /** ingest, split, curation: CPU and memory */
  data: 'llamaduo-data',
  /** teacher and judges: network-bound, rate-limited */
  llm: 'llamaduo-llm',
  /** fine-tune and generate: submit and wait on GPU work */
  gpu: 'llamaduo-gpu',
} as const;
export type QueueName = keyof typeof TASK_QUEUES;

export interface DataActivities {
  ingestCoverage(input: T.IngestInput): Promise<T.IngestResult>;
  planSynthesis(input: T.SynthesisPlanInput): Promise<T.SynthesisPlan>;
  curateSynthesis(input: T.CurateInput): Promise<T.CurateResult>;
  planEvaluation(input: T.EvaluatePlanInput): Promise<T.EvaluatePlan>;
  summarizeEvaluation(input: T.SummarizeEvaluationInput): Promise<T.SummarizeEvaluationResult>;
  readPromoted(channel: string): Promise<T.Promoted | null>;
  promote(input: T.PromoteInput): Promise<T.Promoted>;
  writeReport(input: WriteReportInput): Promise<T.ArtifactRef>;
}

export interface LlmActivities {
  teacherBaseline(input: T.TeacherBaselineInput): Promise<T.TeacherBaselineResult>;
  synthesizeShard(input: T.SynthesizeShardInput): Promise<T.SynthesizeShardResult>;
  judgeShard(input: T.JudgeShardInput): Promise<T.JudgeShardResult>;
}

export interface GpuActivities {
  fineTune(input: T.FineTuneInput): Promise<T.FineTuneResult>;
  generate(input: T.GenerateInput): Promise<T.GenerateResult>;
  /** Merged weights and/or GGUF + Modelfile of one finished adapter (the migration's best). */
  exportAdapter(input: T.ExportAdapterInput): Promise<T.ExportAdapterResult>;
  /** Deletes every GPU Job (and its pods) or trainer process of a migration: the cleanup after a cancel. */
  deleteGpuWork(input: T.DeleteGpuWorkInput): Promise<T.DeleteGpuWorkResult>;
}

export type AllActivities = DataActivities & LlmActivities & GpuActivities;
