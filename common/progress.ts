// What a migration reports about itself: the progress query's answer, the workflow result, and the
// state carried across continue-as-new. All small: references and numbers only.
import type { MigrationConfig } from './config';
import type {
  Promoted,
  ArtifactRef,
  EvaluationSummary,
  IngestResult,
  MigrationStatus,
  Stage,
  Usage,
} from './types';

export interface CycleRecord {
  cycle: number;
  trainSamples: number;
  syntheticSamples: number;
  adapter: ArtifactRef;
  generations: ArtifactRef;
  judgments: ArtifactRef;
  evaluation: EvaluationSummary;
  /** the number the stop rule looks at */
  score: number;
  target: number;
  reached: boolean;
  fineTuneSeconds: number;
  method: string;
}

/** The base student (no adapter) on the same test prompts: the starting point the cycles are compared with. */
export interface BaseRecord {
  generations: ArtifactRef;
  judgments: ArtifactRef;
  evaluation: EvaluationSummary;
  /** the stop rule's number, as for a cycle */
  score: number;
}

export interface SynthesisRecord {
  /** the cycle whose training set this synthesis grew */
  forCycle: number;
  wanted: number;
  accepted: number;
  generated: number;
  drops: Record<string, number>;
  dataset: ArtifactRef | null;
  usd: number;
}

export interface Decision {
  cycle: number;
  score: number;
  target: number;
  teacherScore: number | null;
  outcome: 'stop-target-met' | 'stop-max-cycles' | 'stop-budget' | 'stop-requested' | 'continue';
  reason: string;
}

export interface Spend {
  total: Usage;
  byStage: Record<string, Usage>;
  byCycle: Record<string, number>;
}

/** A service LLM other than the teacher whose own answers were judged: a Table 1 service row. */
export interface ServiceBaseline {
  /** provider/model */
  model: string;
  evaluation: EvaluationSummary;
  judgments: ArtifactRef;
}

/** Carried from run to run by continue-as-new. */
export interface MigrationState {
  ingest: IngestResult;
  teacher: { generations: ArtifactRef; judgments: ArtifactRef; evaluation: EvaluationSummary } | null;
  /** the base student before any fine-tuning; absent in migrations started before it was measured */
  base?: BaseRecord | null;
  /** other service LLMs' own answers, judged like the teacher's (evaluation.baselines) */
  baselines?: ServiceBaseline[];
  /** next cycle to run */
  cycle: number;
  synthetic: ArtifactRef[];
  syntheticCount: number;
  cycles: CycleRecord[];
  syntheses: SynthesisRecord[];
  decisions: Decision[];
  spend: Spend;
  target: MigrationConfig['target'];
  maxUsd: number;
  stopRequested: boolean;
  runs: number;
}

export interface Progress {
  migrationId: string;
  status: MigrationStatus;
  cycle: number;
  maxCycles: number;
  stage: Stage;
  /** e.g. "shard 3/12" */
  stageDetail: string;
  /** shards done / total in the current fan-out */
  shardsDone: number;
  shardsTotal: number;
  /** the current stage (generate or evaluate) measures the base student (no adapter), before cycle 0 */
  baseStudent?: boolean;
  cycles: CycleRecord[];
  syntheses: SynthesisRecord[];
  decisions: Decision[];
  teacher: EvaluationSummary | null;
  /** the teacher's judgments (per-sample scores) */
  teacherJudgments: ArtifactRef | null;
  /** the base student's scores before cycle 1 (null when not measured) */
  base?: BaseRecord | null;
  /** other service LLMs judged on the same test prompts (evaluation.baselines) */
  baselines?: ServiceBaseline[];
  spend: Spend;
  budgetUsd: number;
  target: MigrationConfig['target'];
  best: { cycle: number; score: number; adapter: ArtifactRef } | null;
  /** the best adapter's exports, once written (config `export`) */
  export?: ExportRecord;
  stopRequested: boolean;
  runs: number;
}

export interface PromotionRecord {
  channel: string;
  promoted: boolean;
  newScore: number;
  previous: Promoted | null;
  previousScoreOnThisSplit: number | null;
  reason: string;
}

/** What the migration exported of its best adapter (config `export`); `error` when the step failed. */
export interface ExportRecord {
  cycle: number;
  adapter: ArtifactRef;
  merged?: ArtifactRef;
  gguf?: ArtifactRef;
  modelfile?: ArtifactRef;
  ggufSkipped?: string;
  manifest?: ArtifactRef;
  error?: string;
}

export interface MigrationResult {
  migrationId: string;
  status: MigrationStatus;
  cycles: CycleRecord[];
  syntheses: SynthesisRecord[];
  decisions: Decision[];
  best: { cycle: number; score: number; adapter: ArtifactRef } | null;
  teacher: EvaluationSummary | null;
  /** other service LLMs judged on the same test prompts (evaluation.baselines) */
  baselines?: ServiceBaseline[];
  spend: Spend;
  promotion: PromotionRecord | null;
  /** the best adapter's exports, when the config asks for them (absent otherwise) */
  export?: ExportRecord;
  /** the HTML report written at the end of the run */
  report: ArtifactRef | null;
}
