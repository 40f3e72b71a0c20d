// One evaluation of a set of generations (the student's or the teacher's): plan shards, judge them in a
// sliding window of heartbeating activities, then aggregate into per-judge metrics.
import {
  addUsage,
  ZERO_USAGE,
  type EvaluatePlanInput,
  type SummarizeEvaluationResult,
  type Usage,
} from '../common/types';
import { activityProxies, type ActivityTuning } from './activity-proxies';
import { slidingWindow } from './sliding-window';

export interface EvaluationOutcome extends SummarizeEvaluationResult {
  usage: Usage;
  failed: number;
}

/** Returns null, having judged nothing, when the plan's estimated price exceeds `budgetUsd`. */
export async function evaluateGenerations(
  input: EvaluatePlanInput,
  tuning: ActivityTuning,
  budgetUsd: number,
  onShard: (done: number, total: number) => void,
): Promise<EvaluationOutcome | null> {
  const { data, llm, llmBatch } = activityProxies(tuning);
  // judges on a batch API wait on the provider's queue (up to a day): that activity's timeout allows it
  const judgeShard = input.evaluation.judges.some((j) => j.batch) ? llmBatch.judgeShard : llm.judgeShard;
  const label = `${input.subject} cycle ${input.cycle}`;
  const plan = await data.planEvaluation.executeWithOptions({ summary: `plan evaluation of ${label}` }, [
    input,
  ]);
  if ((plan.estimatedUsd ?? 0) > budgetUsd) return null;
  let usage = ZERO_USAGE;
  let failed = 0;
  let done = 0;
  onShard(0, plan.shards);
  const shards = await slidingWindow(
    plan.shards,
    4,
    (shard) =>
      judgeShard.executeWithOptions({ summary: `judge ${label} shard ${shard + 1}/${plan.shards}` }, [
        { ...input, shard, shards: plan.shards },
      ]),
    (_i, r) => {
      usage = addUsage(usage, r.usage);
      failed += r.failed;
      onShard(++done, plan.shards);
    },
  );
  const summary = await data.summarizeEvaluation.executeWithOptions(
    { summary: `aggregate scores of ${label}` },
    [{ ...input, shardOutputs: shards.map((s) => s.judgments) }],
  );
  return { ...summary, usage, failed };
}
