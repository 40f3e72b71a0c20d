// ReportData from what the migration workflow reports about itself (its progress query or result)
// plus the migration's config. Per-sample scores live in the judgments artifacts, so the caller that
// reads those passes them in as `distributions`.
import type { MigrationConfig } from '../common/config';
import type { ExportRecord, Progress } from '../common/progress';
import type { Stage, Usage } from '../common/types';
import { gpuUsdPerHourOf } from '../common/economics';
import {
  apiPricingOf,
  defaultCostScenarios,
  fineTuneGpuUsd,
  localServingOf,
  PAPER_EIGHT_L4,
  PAPER_HEAVY_WORKLOAD,
  PAPER_LIGHT_WORKLOAD,
  PAPER_ONE_L4,
  workloadOf,
  type ApiPricing,
  type CostScenario,
} from './break-even';
import { STAGE_ORDER } from './charts';
import type {
  CurationDetails,
  CycleReport,
  ReportData,
  ReportExports,
  ScoreDistribution,
} from './report-data';

export interface ReportOptions {
  distributions?: ScoreDistribution[];
  /** per cycle: what the curation of the synthesis after it recorded (templates, thresholds, examples) */
  curation?: Record<number, CurationDetails>;
  /** API price of the model the local one replaces; by default the teacher's, from the pricing table. */
  pricing?: ApiPricing;
  /** Requests a day the user's application sends: scales the teacher's tokens per call into a workload. */
  requestsPerDay?: number;
  /** GPU spend of the migration; by default its fine-tune seconds at economics.gpuUsdPerHour. */
  gpuUsd?: number;
  now?: Date;
}

export function reportDataFromProgress(
  progress: Progress,
  config: MigrationConfig,
  opts: ReportOptions = {},
): ReportData {
  const cycles: CycleReport[] = progress.cycles.map((c) => {
    // A synthesis "for cycle t+1" ran after cycle t was evaluated.
    const synthesis = progress.syntheses.find((s) => s.forCycle === c.cycle + 1);
    return {
      cycle: c.cycle,
      syntheticVolume: c.syntheticSamples,
      trainingSamples: c.trainSamples,
      evaluation: c.evaluation,
      ...(synthesis
        ? {
            synthesis: {
              generated: synthesis.generated,
              accepted: synthesis.accepted,
              drops: synthesis.drops,
              ...(opts.curation?.[c.cycle] ? { curation: opts.curation[c.cycle] } : {}),
            },
          }
        : {}),
    };
  });
  const spend: Partial<Record<Stage, Usage>> = {};
  for (const stage of STAGE_ORDER) {
    const usage = progress.spend.byStage[stage];
    if (usage) spend[stage] = usage;
  }
  const lastDecision = progress.decisions.at(-1);
  const target = lastDecision?.target ?? config.target.atLeast ?? 0;
  const teacherUsage = spend['teacher-baseline'] ?? { calls: 0, inputTokens: 0, outputTokens: 0 };
  const pricing = opts.pricing ?? apiPricingOf(config.synthesis.teacher).pricing;
  const fineTuneSeconds = progress.cycles.reduce((s, c) => s + c.fineTuneSeconds, 0);
  // without economics.gpuUsdPerHour the GPU price is an assumption, and the report says so
  const gpuPrice = {
    usdPerHour: gpuUsdPerHourOf(config.economics),
    assumed: config.economics?.gpuUsdPerHour === undefined,
  };
  const gpuUsd = opts.gpuUsd ?? fineTuneGpuUsd(fineTuneSeconds, { gpuUsdPerHour: gpuPrice.usdPerHour });
  const migrationUsd = progress.spend.total.usd + gpuUsd;
  const scenarios: CostScenario[] = config.economics
    ? [
        { workload: workloadOf(config.economics), local: localServingOf(config.economics, migrationUsd) },
        { workload: PAPER_LIGHT_WORKLOAD, local: PAPER_ONE_L4 },
        { workload: PAPER_HEAVY_WORKLOAD, local: PAPER_EIGHT_L4 },
      ]
    : defaultCostScenarios({ teacherUsage, requestsPerDay: opts.requestsPerDay ?? 10_000, migrationUsd });
  return {
    migrationId: progress.migrationId,
    name: config.name,
    baseModel: config.baseModel,
    teacherModel: config.synthesis.teacher.model,
    status: progress.status,
    generatedAt: (opts.now ?? new Date()).toISOString(),
    target: { metric: config.target.metric, statistic: config.target.statistic, value: target },
    cycles,
    teacher: progress.teacher,
    ...(progress.baselines?.length
      ? { baselines: progress.baselines.map((b) => ({ model: b.model, evaluation: b.evaluation })) }
      : {}),
    base: progress.base?.evaluation ?? null,
    ...(progress.export ? { exports: exportsOf(progress.export) } : {}),
    distributions: opts.distributions ?? [],
    spend,
    budgetUsd: progress.budgetUsd,
    costs: {
      pricing,
      scenarios,
      gpuUsd,
      ...(opts.gpuUsd === undefined ? { gpuPrice: { ...gpuPrice, hours: fineTuneSeconds / 3600 } } : {}),
    },
  };
}

/** The best adapter's exports as the report names them: artifact URIs, or the failure. */
function exportsOf(e: ExportRecord): ReportExports {
  return {
    cycle: e.cycle,
    ...(e.merged ? { merged: e.merged.uri } : {}),
    ...(e.gguf ? { gguf: e.gguf.uri } : {}),
    ...(e.modelfile ? { modelfile: e.modelfile.uri } : {}),
    ...(e.ggufSkipped ? { ggufSkipped: e.ggufSkipped } : {}),
    ...(e.error ? { error: e.error } : {}),
  };
}
