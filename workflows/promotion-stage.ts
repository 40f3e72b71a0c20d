// Scheduled re-migrations: the run's best adapter replaces the promoted one only if it scores higher on this
// run's test split, where the promoted adapter is re-generated and re-judged so both meet the same prompts.
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

export async function promoteIfBetter(ctx: PromotionContext): Promise<PromotionRecord> {
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
  if (previous?.migrationId === ctx.migrationId)
    return record(true, null, 'this migration is already promoted');

  let previousScore: number | null = null;
  if (previous) {
    const gen = await gpu.generate.executeWithOptions(
      { summary: `re-generate with the promoted adapter of ${channel}` },
      [
        {
          migrationId: ctx.migrationId,
          cycle: best.cycle,
          tag: 'promoted',
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
      ctx.remainingUsd,
      () => undefined,
    );
    if (!ev)
      return record(false, null, 'the budget cannot pay for judging the promoted adapter; nothing promoted');
    ctx.onSpend(ev.usage);
    previousScore = statisticOf(overallRow(ev.summary), ctx.target.metric, ctx.target.statistic) ?? 0;
    if (best.score <= previousScore)
      return record(
        false,
        previousScore,
        `best ${best.score.toFixed(2)} <= promoted ${previousScore.toFixed(2)} on this test split`,
      );
  }
  await data.promote.executeWithOptions({ summary: `promote cycle ${best.cycle} on ${channel}` }, [
    {
      channel,
      migrationId: ctx.migrationId,
      cycle: best.cycle,
      adapter: best.adapter,
      baseModel: config.baseModel,
      score: best.score,
      comparison: { previous, previousScoreOnThisSplit: previousScore },
    },
  ]);
  return record(
    true,
    previousScore,
    previous
      ? `best ${best.score.toFixed(2)} > promoted ${previousScore!.toFixed(2)} on this test split`
      : 'nothing promoted yet',
  );
}
