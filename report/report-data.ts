// Everything the HTML report shows, gathered from a finished (or running) migration. Built from the
// shapes that cross workflow history (common/types.ts) plus per-sample scores read from the judgments
// artifacts, so the report can be rendered without touching Temporal or the artifact store again.
import type { JudgeMetric } from '../common/config';
import type { EvaluationSummary, MigrationStatus, Stage, Usage } from '../common/types';
import type { ApiPricing, CostScenario } from './break-even';

export interface CycleReport {
  cycle: number;
  /** Synthetic samples in this cycle's training set (0 at cycle 0): the paper's x axis in Figure 2. */
  syntheticVolume: number;
  /** Samples the adapter was fine-tuned on: train split plus synthetic. */
  trainingSamples: number;
  /** The student's evaluation this cycle; one row per judge plus 'all'. */
  evaluation: EvaluationSummary;
  /** The synthesis that ran after this cycle's evaluation, if one did. */
  synthesis?: {
    generated: number;
    accepted: number;
    drops: Record<string, number>;
    /** what the curation rounds recorded: templates, thresholds, example pairs per drop reason */
    curation?: CurationDetails;
  };
}

export interface ExampleRecord {
  prompt: string;
  response: string;
  /** character ranges of the prompt that are template (greyed out) */
  template: [number, number][];
}

export interface CurationDetails {
  thresholds: { threshold: number; rougeLThreshold: number };
  calibration: { percentile: number; realJaccard: number; realRougeL: number } | null;
  templates: {
    category: string;
    records: number;
    matching: number;
    templateShare: number;
    spans: string[];
  }[];
  /** per drop reason, a few dropped samples and what each matched */
  examples: Record<
    string,
    {
      sample: ExampleRecord;
      matched?: ExampleRecord & { kind: 'reference' | 'sample' | 'test' };
      similarity?: number;
    }[]
  >;
}

/** Aggregated (over the K repeats) per-sample scores of one judge on one metric: Figure 3's input. */
export interface ScoreDistribution {
  /** Student cycle, or 'teacher' for the teacher's own answers. */
  subject: number | 'teacher';
  judge: string;
  metric: JudgeMetric;
  scores: number[];
}

export interface ReportExports {
  cycle: number;
  merged?: string;
  gguf?: string;
  modelfile?: string;
  ggufSkipped?: string;
  error?: string;
}

export interface ReportData {
  migrationId: string;
  name: string;
  baseModel: string;
  teacherModel: string;
  status: MigrationStatus;
  /** ISO time the data was gathered. */
  generatedAt: string;
  target: { metric: JudgeMetric; statistic: 'mean' | 'coverage50' | 'coverage70'; value: number };
  cycles: CycleReport[];
  /** The teacher's answers judged on the same test split: Table 1's service-LLM row. */
  teacher: EvaluationSummary | null;
  /** Other service LLMs' answers judged the same way (evaluation.baselines): more service rows. */
  baselines?: { model: string; evaluation: EvaluationSummary }[];
  /** The base student (no adapter) on the same split, before cycle 1: the starting point. */
  base?: EvaluationSummary | null;
  distributions: ScoreDistribution[];
  /** What was exported of the best adapter (config `export`): artifact URIs, or why it failed. */
  exports?: ReportExports;
  /** Service-LLM spend per pipeline stage. */
  spend: Partial<Record<Stage, Usage>>;
  budgetUsd: number;
  /** Break-even of local serving vs API use (Table 2 / Figure 4): the scenarios to compare. */
  costs: {
    pricing: ApiPricing;
    scenarios: CostScenario[];
    /** GPU spend of the migration's fine-tuning, included in its fine-tuning cost (absent in older data) */
    gpuUsd?: number;
    /**
     * How gpuUsd was priced: fine-tune hours at usdPerHour, `assumed` when the config has no economics block
     * (the default price, DEFAULT_GPU_USD_PER_HOUR). Absent when the caller gave gpuUsd itself.
     */
    gpuPrice?: { usdPerHour: number; hours: number; assumed: boolean };
  };
}
