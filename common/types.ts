// Shapes that cross workflow history: references to artifacts, counts, scores, money. Never payloads.
import type { MigrationConfig, ServiceModel, GpuBackendConfig } from './config';

/** A content-addressed reference to something in the artifact store. */
export interface ArtifactRef {
  uri: string;
  sha256: string;
  bytes: number;
  /** Records (JSONL lines) when the artifact is a dataset. */
  count?: number;
}

/** Tokens and money spent by service-LLM calls. */
export interface Usage {
  calls: number;
  inputTokens: number;
  outputTokens: number;
  cachedTokens: number;
  usd: number;
}

export const ZERO_USAGE: Usage = { calls: 0, inputTokens: 0, outputTokens: 0, cachedTokens: 0, usd: 0 };

export function addUsage(a: Usage, b: Usage): Usage {
  return {
    calls: a.calls + b.calls,
    inputTokens: a.inputTokens + b.inputTokens,
    outputTokens: a.outputTokens + b.outputTokens,
    cachedTokens: a.cachedTokens + b.cachedTokens,
    usd: Math.round((a.usd + b.usd) * 1e6) / 1e6,
  };
}

/** The stages of a migration, in the order they run. */
export const STAGES = [
  'ingest',
  'teacher-baseline',
  'fine-tune',
  'generate',
  'evaluate',
  'decide',
  'synthesize',
  'promote',
  'export',
  'done',
] as const;
export type Stage = (typeof STAGES)[number];

/**
 * How a migration ended (or `running`): succeeded = the target was met; target-not-met = max cycles ran out;
 * stopped = a user asked it to stop after a cycle; cancelled = the workflow was cancelled; failed = an
 * activity or the workflow failed. Each ending sets the LlamaduoStatus search attribute and writes a report.
 */
export type MigrationStatus =
  'running' | 'succeeded' | 'target-not-met' | 'budget-exhausted' | 'stopped' | 'cancelled' | 'failed';

// ---------------------------------------------------------------------------------------------
// Activity inputs and outputs. Implementations: activities/*; test doubles: tests/fakes.

export interface IngestInput {
  migrationId: string;
  dataset: MigrationConfig['dataset'];
  split: MigrationConfig['split'];
}
export interface IngestResult {
  train: ArtifactRef;
  test: ArtifactRef;
  /** Records per category in each split. */
  categories: Record<string, { train: number; test: number }>;
}

export interface FineTuneInput {
  migrationId: string;
  cycle: number;
  baseModel: string;
  trainer: MigrationConfig['trainer'];
  /** train split plus every synthetic dataset accepted so far */
  datasets: ArtifactRef[];
  samples: number;
  lora: { rank: number; alpha: number };
  gpu: GpuBackendConfig;
}
export interface FineTuneResult {
  adapter: ArtifactRef;
  manifest: ArtifactRef;
  /** 'qlora' or 'lora': what the trainer really did */
  method: string;
  trainLoss?: number;
  tokensPerSecond?: number;
  seconds: number;
}

export interface GenerateInput {
  migrationId: string;
  cycle: number;
  /** names the output instead of the cycle: 'promoted' when re-judging the promoted adapter, 'base' without one */
  tag?: string;
  baseModel: string;
  /** the fine-tuned adapter; none answers with the base model alone */
  adapter?: ArtifactRef;
  test: ArtifactRef;
  inference: MigrationConfig['inference'];
  gpu: GpuBackendConfig;
}
export interface DeleteGpuWorkInput {
  migrationId: string;
  gpu: GpuBackendConfig;
}
export interface DeleteGpuWorkResult {
  /** Job names or process keys that were deleted */
  deleted: string[];
}
/** The migration's best adapter exported once training is over (config `export`). */
export interface ExportAdapterInput {
  migrationId: string;
  /** the best cycle: names the step (cycle-<n>/export) */
  cycle: number;
  baseModel: string;
  adapter: ArtifactRef;
  /** base + adapter merged (safetensors) */
  merged: boolean;
  /** a GGUF file of the merged model and an Ollama Modelfile (writes the merged weights too) */
  gguf: boolean;
  gpu: GpuBackendConfig;
}
export interface ExportAdapterResult {
  /** the merged model's folder (safetensors and tokenizer) */
  merged?: ArtifactRef;
  gguf?: ArtifactRef;
  modelfile?: ArtifactRef;
  /** why no GGUF file was written (an architecture or tokenizer the exporter does not cover) */
  ggufSkipped?: string;
  manifest: ArtifactRef;
  seconds: number;
}
export interface GenerateResult {
  generations: ArtifactRef;
  manifest: ArtifactRef;
  tokensPerSecond?: number;
  seconds: number;
}

/** The teacher answers the test prompts once per migration: the target row of the evaluation. */
export interface TeacherBaselineInput {
  migrationId: string;
  test: ArtifactRef;
  teacher: ServiceModel;
  responsesPerPrompt: number;
  /** USD the baseline may spend; refused (BudgetExceeded) before any call when its worst case is dearer */
  budgetUsd?: number;
  /** set for a service baseline other than the teacher (evaluation.baselines): its own artifact folder */
  label?: string;
}
export interface TeacherBaselineResult {
  generations: ArtifactRef;
  usage: Usage;
  /** answers the teacher refused or could not give: left out of the generations, counted here */
  failed?: number;
}

/** Scores of one judge on one metric: the paper's Table 1 cells. */
export interface MetricSummary {
  mean: number;
  median: number;
  /** threshold (as string) -> % of samples with aggregated score >= threshold */
  coverage: Record<string, number>;
  samples: number;
}
export interface JudgeSummary {
  judge: string;
  similarity: MetricSummary;
  precision: MetricSummary;
  /** Percentages of both-order pairs; a verdict counts only when both orders agree, else it is a tie. */
  pairwise?: { win: number; tie: number; loss: number; positionDisagreement: number; pairs?: number };
  /** Judge calls that failed after the client's bounded retries: counted, never scored as zero. */
  failed: number;
  /** Judge calls made (successful + failed). */
  calls?: number;
  /** Samples no repeat of this judge could score: left out of the metric, not counted as zero. */
  failedSamples?: number;
}

/** Rank agreement of two judges' per-sample scores on one metric (null where undefined, e.g. n < 2). */
export interface RankAgreement {
  spearman: number | null;
  kendall: number | null;
  n: number;
}

/** The deterministic reference-based score of a set of answers (evaluation.reference): no judge involved. */
export interface ReferenceSummary {
  metric: 'exact-match' | 'rouge-l' | 'chrf';
  /** mean over samples, 0-100 */
  mean: number;
  samples: number;
  /** % of samples scoring 100 (an exact match, or a perfect overlap) */
  perfect: number;
}

export interface EvaluationSummary {
  /** One row per judge, plus 'all' (mean over judges). */
  judges: JudgeSummary[];
  /**
   * Rank correlation of per-sample scores between judges, keyed "a|b": Spearman's rho averaged over the
   * similarity and precision metrics (pairs with no defined rho are left out). Details in agreementDetail.
   */
  agreement: Record<string, number>;
  /** Per judge pair ("a|b") and metric: Spearman, Kendall tau-b and the number of samples both scored. */
  agreementDetail?: Record<string, { similarity: RankAgreement; precision: RankAgreement }>;
  /** How repeats were folded into one score per sample. */
  aggregate?: 'mean' | 'median';
  /** The deterministic reference-based score, when evaluation.reference is set. */
  reference?: ReferenceSummary;
}

/** The stop/continue decision of one cycle and everything it was computed from (progress and history). */
export interface EvaluationDecision {
  action: 'stop' | 'continue';
  reason: 'target-met' | 'below-target' | 'no-scores' | 'no-teacher-score';
  metric: 'similarity' | 'precision';
  statistic: 'mean' | 'coverage50' | 'coverage70';
  /** the student's value of the statistic (row 'all', else the mean over judges), null without scores */
  value: number | null;
  /** the value to reach: atLeast, or relativeToTeacher * teacherValue */
  threshold: number | null;
  teacherValue?: number | null;
  relativeToTeacher?: number;
  /** student / teacher on the statistic, when a teacher summary was given */
  matching?: number | null;
}

export interface EvaluatePlanInput {
  migrationId: string;
  cycle: number;
  /** 'student' or 'teacher' */
  subject: string;
  test: ArtifactRef;
  generations: ArtifactRef;
  /** teacher generations for pairwise comparison (student subject only) */
  reference?: ArtifactRef;
  evaluation: MigrationConfig['evaluation'];
}
export interface EvaluatePlan {
  shards: number;
  calls: number;
  /** priced from the pricing table; the workflow does not start an evaluation the budget cannot pay for */
  estimatedUsd?: number;
}
export interface JudgeShardInput extends EvaluatePlanInput {
  shard: number;
  shards: number;
  /** USD this shard's judge calls may spend (each call reserves its worst case first); unset: no limit */
  shardBudgetUsd?: number;
}
export interface JudgeShardResult {
  judgments: ArtifactRef;
  usage: Usage;
  failed: number;
}
export interface SummarizeEvaluationInput extends EvaluatePlanInput {
  shardOutputs: ArtifactRef[];
}
export interface SummarizeEvaluationResult {
  summary: EvaluationSummary;
  judgments: ArtifactRef;
}

export interface SynthesisInput {
  migrationId: string;
  cycle: number;
  train: ArtifactRef;
  test: ArtifactRef;
  /** synthetic data accepted in earlier cycles (dedup against it) */
  prior: ArtifactRef[];
  /** accepted samples wanted from this synthesis */
  wanted: number;
  synthesis: MigrationConfig['synthesis'];
  /** USD this synthesis may spend before it stops early */
  budgetUsd: number;
}
export interface SynthesisPlanInput extends SynthesisInput {
  round: number;
  /** samples still missing */
  missing: number;
}
export interface SynthesisPlan {
  shards: number;
  /** requests per shard */
  requests: number;
  /** priced from the pricing table; the workflow launches no shard the remaining budget cannot pay for */
  estimatedUsdPerShard?: number;
  /** a request's worst case (the whole output allowance), what the client reserves before firing it */
  worstUsdPerRequest?: number;
}
export interface SynthesizeShardInput extends SynthesisPlanInput {
  shard: number;
  shards: number;
  requests: number;
  /** USD this shard may spend; default budgetUsd / shards */
  shardBudgetUsd?: number;
}
export interface SynthesizeShardResult {
  raw: ArtifactRef;
  generated: number;
  usage: Usage;
  failed: number;
}
export interface CurateInput extends SynthesisInput {
  round: number;
  shardOutputs: ArtifactRef[];
  /** accepted so far in this synthesis (earlier rounds) */
  accepted: ArtifactRef | null;
}
export interface CurateResult {
  accepted: ArtifactRef;
  acceptedCount: number;
  /** reason -> samples dropped this round */
  drops: Record<string, number>;
}
export interface SynthesisResult {
  dataset: ArtifactRef | null;
  accepted: number;
  generated: number;
  drops: Record<string, number>;
  usage: Usage;
  rounds: number;
  shards: number;
  /** a stop request ended the synthesis early */
  stopped?: boolean;
}

/** The adapter currently promoted on a channel (the one serving traffic). */
export interface Promoted {
  channel: string;
  migrationId: string;
  cycle: number;
  adapter: ArtifactRef;
  baseModel: string;
  score: number;
  promotedAt: string;
  /** the channel's promotion counter (1, 2, ...); 0 for a registry written before versions existed */
  version?: number;
}
export interface PromoteInput {
  channel: string;
  migrationId: string;
  cycle: number;
  adapter: ArtifactRef;
  baseModel: string;
  score: number;
  /**
   * Compare-and-swap: the version this run compared against (0 when nothing was promoted); the promotion
   * fails with PromotionConflict if another run promoted meanwhile. Absent: promote unconditionally.
   */
  expectedVersion?: number;
  /** what it was compared against, recorded with the promotion */
  comparison: { previous: Promoted | null; previousScoreOnThisSplit: number | null };
}
