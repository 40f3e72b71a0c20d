// The starting point of a migration: the base student, with no adapter, answers the test prompts through the
// same GPU generate step as every cycle and is judged (and scored against the references) the same way, so
// the report can show base -> cycle 1 -> cycle 2 on one scale.
import type { MigrationConfig } from '../common/config';
import { decide } from '../common/metrics';
import type { BaseRecord } from '../common/progress';
import type { ArtifactRef, Usage } from '../common/types';
import { activityProxies, type ActivityTuning } from './activity-proxies';
import { evaluateGenerations } from './evaluate-stage';
import { stopRuleTarget } from './stop-rule';

export interface BaseStageInput {
  migrationId: string;
  config: MigrationConfig;
  test: ArtifactRef;
  teacher: { generations: ArtifactRef; evaluation: BaseRecord['evaluation'] } | null;
  target: MigrationConfig['target'];
  remainingUsd: number;
  tuning: ActivityTuning;
  onStage: (detail: 'generate' | 'evaluate') => void;
  onShard: (done: number, total: number) => void;
  onSpend: (usage: Usage) => void;
}

/**
 * Null, having judged nothing, when judging the base student would cost more than half of the remaining
 * budget (the other half is for the first cycle's evaluation, which judges as many answers).
 */
export async function measureBaseStudent(input: BaseStageInput): Promise<BaseRecord | null> {
  const { config, migrationId } = input;
  const { gpu } = activityProxies(input.tuning);
  input.onStage('generate');
  const gen = await gpu.generate.executeWithOptions(
    { summary: `base ${config.baseModel} (no adapter) answers the test prompts` },
    [
      {
        migrationId,
        cycle: 0,
        tag: 'base',
        baseModel: config.baseModel,
        test: input.test,
        inference: config.inference,
        gpu: config.gpu,
      },
    ],
  );
  input.onStage('evaluate');
  const evaluation = await evaluateGenerations(
    {
      migrationId,
      cycle: 0,
      subject: 'base',
      test: input.test,
      generations: gen.generations,
      reference: input.teacher?.generations,
      evaluation: config.evaluation,
    },
    input.tuning,
    // measuring the starting point must not take the money the first cycle's evaluation needs
    input.remainingUsd / 2,
    input.onShard,
    input.onSpend,
  );
  if (!evaluation) return null;
  input.onSpend(evaluation.usage);
  const verdict = decide(stopRuleTarget(input.target), evaluation.summary, input.teacher?.evaluation);
  return {
    generations: gen.generations,
    judgments: evaluation.judgments,
    evaluation: evaluation.summary,
    score: verdict.value ?? 0,
  };
}
