// One evaluation of a set of generations (the student's or the teacher's): plan shards, judge them in a
// sliding window of heartbeating activities, then aggregate into per-judge metrics.
// The plan's estimate decides whether to start; each shard then gets its share of the budget, which its
// judge calls cannot pass (each reserves its worst case first), so an estimate that was too low stops the
// evaluation at the budget instead of overrunning it.
import { ActivityFailure, ApplicationFailure, patched } from '@temporalio/workflow';
import {
  addUsage,
  ZERO_USAGE,
  type EvaluatePlanInput,
  type JudgeShardResult,
  type SummarizeEvaluationResult,
  type Usage,
} from '../common/types';
import { activityProxies, type ActivityTuning } from './activity-proxies';
import { spentIn } from './failure-spend';
import { slidingWindow } from './sliding-window';

export interface EvaluationOutcome extends SummarizeEvaluationResult {
  usage: Usage;
  failed: number;
}

function budgetStopped(err: unknown): boolean {
  return (
    err instanceof ActivityFailure &&
    err.cause instanceof ApplicationFailure &&
    err.cause.type === 'BudgetExhausted'
  );
}

/**
 * Returns null when the plan's estimated price exceeds `budgetUsd` (nothing judged) or when the judge calls
 * reached the budget part-way; `onPartialSpend` then gets what was paid (also before a failure is thrown).
 */
export async function evaluateGenerations(
  input: EvaluatePlanInput,
  tuning: ActivityTuning,
  budgetUsd: number,
  onShard: (done: number, total: number) => void,
  onPartialSpend: (usage: Usage) => void = () => undefined,
): Promise<EvaluationOutcome | null> {
  const { data, llm, llmBatch } = activityProxies(tuning);
  // judges on a batch API wait on the provider's queue (up to a day): that activity's timeout allows it
  const judgeShard = input.evaluation.judges.some((j) => j.batch) ? llmBatch.judgeShard : llm.judgeShard;
  const label = `${input.subject} cycle ${input.cycle}`;
  const plan = await data.planEvaluation.executeWithOptions({ summary: `plan evaluation of ${label}` }, [
    input,
  ]);
  if ((plan.estimatedUsd ?? 0) > budgetUsd) return null;
  // Histories from before shard budgets judged without a limit and lost a failed shard's spend.
  const limited = patched('judge-shard-budget');
  let usage = ZERO_USAGE;
  let failed = 0;
  let done = 0;
  let launched = 0;
  let reserved = 0;
  let exhausted = false;
  let failure: unknown;
  onShard(0, plan.shards);
  const judge = (shard: number, shardBudgetUsd?: number) =>
    judgeShard.executeWithOptions({ summary: `judge ${label} shard ${shard + 1}/${plan.shards}` }, [
      { ...input, shard, shards: plan.shards, ...(shardBudgetUsd === undefined ? {} : { shardBudgetUsd }) },
    ]);
  const shards = await slidingWindow<JudgeShardResult | null>(
    plan.shards,
    4,
    async (shard) => {
      if (!limited) return judge(shard);
      if (exhausted || failure !== undefined) return null;
      // an even share of what is left among the shards not yet launched
      const shardBudgetUsd = Math.max(0, budgetUsd - usage.usd - reserved) / (plan.shards - launched);
      launched++;
      reserved += shardBudgetUsd;
      try {
        return await judge(shard, shardBudgetUsd);
      } catch (err) {
        const paid = spentIn(err);
        if (paid) usage = addUsage(usage, paid);
        if (budgetStopped(err)) exhausted = true;
        else failure ??= err;
        return null;
      } finally {
        reserved -= shardBudgetUsd;
      }
    },
    (_i, r) => {
      if (!r) return;
      usage = addUsage(usage, r.usage);
      failed += r.failed;
      onShard(++done, plan.shards);
    },
  );
  if (failure !== undefined || exhausted) {
    onPartialSpend(usage);
    if (failure !== undefined) throw failure;
    return null;
  }
  const summary = await data.summarizeEvaluation.executeWithOptions(
    { summary: `aggregate scores of ${label}` },
    [{ ...input, shardOutputs: shards.map((s) => s!.judgments) }],
  );
  return { ...summary, usage, failed };
}
