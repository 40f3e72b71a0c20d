// Scheduled re-migrations: the run's best adapter replaces the promoted one only if it scores higher on this
// run's test split, where the promoted adapter is re-generated and re-judged so both meet the same prompts.
// Two runs finishing at once on one channel cannot both win: promote is a compare-and-swap.
import { ActivityFailure, ApplicationFailure, patched } from '@temporalio/workflow';
import { overallRow, statisticOf } from '../common/metrics';
import type { MigrationConfig } from '../common/config';
import type { PromotionRecord } from '../common/progress';
import type { ArtifactRef, Usage } from '../common/types';
import { activityProxies, type ActivityTuning } from './activity-proxies';
import { evaluateGenerations } from './evaluate-stage';

export interface PromotionContext {
  migrationId: string;
  config: MigrationConfig;
  channel: string;
  best: { cycle: number; score: number; adapter: ArtifactRef };
  test: ArtifactRef;
  teacherGenerations?: ArtifactRef;
  target: MigrationConfig['target'];
  remainingUsd: number;
  tuning: ActivityTuning;
  onSpend: (usage: Usage) => void;
}

const MAX_PROMOTION_ATTEMPTS = 5;

function isPromotionConflict(err: unknown): boolean {
  return (
    err instanceof ActivityFailure &&
    err.cause instanceof ApplicationFailure &&
    err.cause.type === 'PromotionConflict'
  );
}

/**
 * Compares the run's best adapter with the channel's promoted one and promotes it if it is better. The
 * promotion is a compare-and-swap against the version compared with: if another run promoted meanwhile,
 * compare again against the new one (a bounded number of times).
 */
export async function promoteIfBetter(ctx: PromotionContext): Promise<PromotionRecord> {
  const cas = patched('promotion-compare-and-swap');
  let remainingUsd = ctx.remainingUsd;
  for (let attempt = 1; ; attempt++) {
    const outcome = await compareAndPromote(ctx, cas, remainingUsd);
    if (outcome.record) return outcome.record;
    remainingUsd -= outcome.spentUsd;
    // A run that met its target stays a success when busier runs keep winning the channel.
    if (attempt >= MAX_PROMOTION_ATTEMPTS)
      return {
        channel: ctx.channel,
        promoted: false,
        newScore: ctx.best.score,
        previous: null,
        previousScoreOnThisSplit: null,
        reason: `other runs promoted to ${ctx.channel} ${attempt} times while this one compared; not promoted`,
      };
  }
}

/** One comparison and promotion attempt; `record` is null when another run promoted meanwhile. */
async function compareAndPromote(
  ctx: PromotionContext,
  cas: boolean,
  remainingUsd: number,
): Promise<{ record: PromotionRecord | null; spentUsd: number }> {
  const { data, gpu } = activityProxies(ctx.tuning);
  const { config, best, channel } = ctx;
  const previous = await data.readPromoted.executeWithOptions(
    { summary: `read promoted adapter of ${channel}` },
    [channel],
  );
  const record = (promoted: boolean, previousScore: number | null, reason: string): PromotionRecord => ({
    channel,
    promoted,
    newScore: best.score,
    previous,
    previousScoreOnThisSplit: previousScore,
    reason,
  });
  const done = (r: PromotionRecord) => ({ record: r, spentUsd: 0 });
  if (previous?.migrationId === ctx.migrationId)
    return done(record(true, null, 'this migration is already promoted'));

  let previousScore: number | null = null;
  let spentUsd = 0;
  if (previous) {
    const gen = await gpu.generate.executeWithOptions(
      { summary: `re-generate with the promoted adapter of ${channel}` },
      [
        {
          migrationId: ctx.migrationId,
          cycle: best.cycle,
          // its own work id: the promoted adapter's answers are not this run's (nor an earlier winner's)
          tag: cas ? `promoted-v${previous.version ?? 0}` : 'promoted',
          baseModel: previous.baseModel,
          adapter: previous.adapter,
          test: ctx.test,
          inference: config.inference,
          gpu: config.gpu,
        },
      ],
    );
    const ev = await evaluateGenerations(
      {
        migrationId: ctx.migrationId,
        cycle: best.cycle,
        subject: 'promoted',
        test: ctx.test,
        generations: gen.generations,
        reference: ctx.teacherGenerations,
        evaluation: config.evaluation,
      },
      ctx.tuning,
      remainingUsd,
      () => undefined,
      ctx.onSpend,
    );
    if (!ev)
      return done(
        record(false, null, 'the budget cannot pay for judging the promoted adapter; nothing promoted'),
      );
    ctx.onSpend(ev.usage);
    spentUsd = ev.usage.usd;
    previousScore = statisticOf(overallRow(ev.summary), ctx.target.metric, ctx.target.statistic) ?? 0;
    if (best.score <= previousScore)
      return done(
        record(
          false,
          previousScore,
          `best ${best.score.toFixed(2)} <= promoted ${previousScore.toFixed(2)} on this test split`,
        ),
      );
  }
  try {
    await data.promote.executeWithOptions({ summary: `promote cycle ${best.cycle} on ${channel}` }, [
      {
        channel,
        migrationId: ctx.migrationId,
        cycle: best.cycle,
        adapter: best.adapter,
        baseModel: config.baseModel,
        score: best.score,
        ...(cas ? { expectedVersion: previous?.version ?? 0 } : {}),
        comparison: { previous, previousScoreOnThisSplit: previousScore },
      },
    ]);
  } catch (err) {
    if (cas && isPromotionConflict(err)) return { record: null, spentUsd };
    throw err;
  }
  return done(
    record(
      true,
      previousScore,
      previous
        ? `best ${best.score.toFixed(2)} > promoted ${previousScore!.toFixed(2)} on this test split`
        : 'nothing promoted yet',
    ),
  );
}
