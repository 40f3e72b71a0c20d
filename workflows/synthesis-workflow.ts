// Grows the training data: the teacher writes new samples from train seeds in shards (hundreds of requests
// per activity, a sliding window of shards in flight), then curation dedups, filters and decontaminates.
// Rounds repeat until the wanted volume is accepted, the rounds run out or the budget share is spent.
import {
  CancellationScope,
  defineQuery,
  defineSignal,
  isCancellation,
  log,
  patched,
  setHandler,
  setCurrentDetails,
} from '@temporalio/workflow';
import {
  addUsage,
  ZERO_USAGE,
  type ArtifactRef,
  type SynthesisInput,
  type SynthesisResult,
  type Usage,
} from '../common/types';
import { activityProxies, type ActivityTuning } from './activity-proxies';
import { failedWithSpend, FAILURE_SPEND_PATCH, reportSpendToParent, spentIn } from './failure-spend';
import { slidingWindow } from './sliding-window';

export interface SynthesisProgress {
  round: number;
  shardsDone: number;
  shardsTotal: number;
  accepted: number;
  wanted: number;
  usd: number;
  /** what this synthesis may spend now (the migration forwards budget changes) */
  budgetUsd?: number;
}
export const synthesisProgressQuery = defineQuery<SynthesisProgress>('synthesisProgress');

/**
 * From the migration while this synthesis runs: its new budget (what the migration's setBudget leaves for
 * it) and/or a stop. Either takes effect at the next shard launch; shards in flight finish and are kept.
 */
export interface SynthesisLimits {
  budgetUsd?: number;
  stop?: boolean;
}
export const synthesisLimitsSignal = defineSignal<[SynthesisLimits]>('synthesisLimits');

export async function synthesisWorkflow(
  input: SynthesisInput,
  tuning: ActivityTuning = {},
): Promise<SynthesisResult> {
  const { data, llm, llmBatch } = activityProxies(tuning);
  // A batch shard waits on the provider's queue (up to a day); its activity has the timeout for that.
  const shardActivity = input.synthesis.teacher.batch ? llmBatch.synthesizeShard : llm.synthesizeShard;
  const progress: SynthesisProgress = {
    round: 0,
    shardsDone: 0,
    shardsTotal: 0,
    accepted: 0,
    wanted: input.wanted,
    usd: 0,
    budgetUsd: input.budgetUsd,
  };
  setHandler(synthesisProgressQuery, () => progress);
  const shares = patched('synthesis-shard-budget-shares');
  // A failed shard stops the launches; the shards in flight finish and what every shard paid is counted.
  const keepSpend = patched(FAILURE_SPEND_PATCH);
  let failure: unknown;
  // A budget lowered below what the shards in flight may spend cancels them: each ends with the samples it
  // paid for (the LLM activities are waited for when cancelled), so the lowered budget holds to within the
  // requests in flight. Histories from before this let them spend their whole share.
  const cancelOnLower = patched('synthesis-lowered-budget-cancels-shards');
  const inFlightScopes = new Set<CancellationScope>();
  let reservedInFlight = 0;
  let usage: Usage = ZERO_USAGE;
  let budgetUsd = input.budgetUsd;
  let stopped = false;
  setHandler(synthesisLimitsSignal, (limits) => {
    if (limits.budgetUsd !== undefined && limits.budgetUsd >= 0) budgetUsd = limits.budgetUsd;
    if (limits.stop) stopped = true;
    progress.budgetUsd = budgetUsd;
    log.info('synthesis limits changed', { budgetUsd, stopped });
    if (cancelOnLower && usage.usd + reservedInFlight > budgetUsd + 1e-9)
      for (const scope of inFlightScopes) scope.cancel();
  });

  let accepted: ArtifactRef | null = null;
  let acceptedCount = 0;
  let generated = 0;
  let shardsRun = 0;
  const drops: Record<string, number> = {};
  let round = 0;

  async function rounds(): Promise<void> {
    while (
      !stopped &&
      acceptedCount < input.wanted &&
      round < input.synthesis.maxRounds &&
      usage.usd < budgetUsd
    ) {
      round++;
      const missing = input.wanted - acceptedCount;
      const roundInput = { ...input, budgetUsd: budgetUsd - usage.usd, round, missing };
      const plan = await data.planSynthesis.executeWithOptions(
        { summary: `plan round ${round}: ${missing} samples missing` },
        [roundInput],
      );
      progress.round = round;
      progress.shardsDone = 0;
      progress.shardsTotal = plan.shards;
      setCurrentDetails(`round ${round}: ${plan.shards} shards for ${missing} samples`);

      // No shard is fired just to be thrown away: launch one only while the budget can pay for it and for
      // every shard still in flight (estimate: the plan's price or the dearest shard seen so far).
      // Each shard gets its share of the round's budget, never more than what the shards in flight leave
      // (a lowered budget shrinks the shares still to come); the shard's client reserves every request's
      // worst case within its share, so the synthesis cannot pass its budget.
      let dearest = plan.estimatedUsdPerShard ?? 0;
      let inFlight = 0;
      let reserved = 0;
      const share = roundInput.budgetUsd / Math.max(1, plan.shards);
      const outputs = await slidingWindow(
        plan.shards,
        input.synthesis.concurrentShards,
        async (shard) => {
          if (stopped || failure !== undefined) return null;
          if (usage.usd + (inFlight + 1) * dearest > budgetUsd) return null;
          // A share is at least the shard's worst case (so a small budget still buys whole shards, first come
          // first served) and never more than what is left. Histories from before shares launched on the
          // estimate alone.
          const worstShard = (plan.worstUsdPerRequest ?? 0) * plan.requests;
          const shardBudgetUsd = shares
            ? Math.min(Math.max(share, worstShard), budgetUsd - usage.usd - reserved)
            : share;
          if (shardBudgetUsd <= 1e-9 || (shares && shardBudgetUsd < (plan.worstUsdPerRequest ?? 0)))
            return null;
          inFlight++;
          reserved += shardBudgetUsd;
          reservedInFlight += shardBudgetUsd;
          const scope = new CancellationScope();
          inFlightScopes.add(scope);
          try {
            return await scope.run(() =>
              shardActivity.executeWithOptions(
                { summary: `cycle ${input.cycle} round ${round} shard ${shard + 1}/${plan.shards}` },
                [{ ...roundInput, shard, shards: plan.shards, requests: plan.requests, shardBudgetUsd }],
              ),
            );
          } catch (err) {
            if (!keepSpend) throw err;
            const paid = spentIn(err);
            if (paid) usage = addUsage(usage, paid);
            progress.usd = usage.usd;
            // cancelled here for a lowered budget (not with the whole synthesis): a stop, not a failure
            if (isCancellation(err) && scope.consideredCancelled && !root.consideredCancelled) return null;
            failure ??= err;
            return null;
          } finally {
            inFlightScopes.delete(scope);
            inFlight--;
            reserved -= shardBudgetUsd;
            reservedInFlight -= shardBudgetUsd;
          }
        },
        (_i, r) => {
          if (!r) return;
          progress.shardsDone++;
          usage = addUsage(usage, r.usage);
          dearest = Math.max(dearest, r.usage.usd);
          progress.usd = usage.usd;
          generated += r.generated;
        },
      );
      if (failure !== undefined) throw failure;
      const finished = outputs.filter((o) => o !== null);
      if (finished.length === 0) break;
      shardsRun += finished.length;

      const curated = await data.curateSynthesis.executeWithOptions(
        { summary: `curate round ${round}: dedup, filters, decontamination` },
        [{ ...input, round, shardOutputs: finished.map((o) => o.raw), accepted }],
      );
      accepted = curated.accepted;
      acceptedCount = curated.acceptedCount;
      progress.accepted = acceptedCount;
      for (const [reason, n] of Object.entries(curated.drops)) drops[reason] = (drops[reason] ?? 0) + n;
    }
  }

  // a failure (a shard's, curation's) closes the child with what it paid, for the migration to count
  const root = CancellationScope.current();
  try {
    await rounds();
  } catch (err) {
    if (keepSpend && isCancellation(err)) await reportSpendToParent(usage);
    throw keepSpend ? failedWithSpend(err, usage) : err;
  }

  return {
    dataset: accepted,
    accepted: acceptedCount,
    generated,
    drops,
    usage,
    rounds: round,
    shards: shardsRun,
    stopped,
  };
}
