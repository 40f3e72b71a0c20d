// Once per migration, after the teacher's baseline: the other service LLMs of evaluation.baselines answer the
// same test prompts and are judged the same way (no pairwise), giving Table 1 one service row each from a
// single migration. Taken only by runs that record the 'service-baselines' patch. A baseline the budget cannot
// pay for is left out (and the ones after it): the migration goes on without it.
import { patched } from '@temporalio/workflow';
import type { MigrationConfig, ServiceModel } from '../common/config';
import type { ServiceBaseline } from '../common/progress';
import { activityProxies } from './activity-proxies';
import { evaluateGenerations } from './evaluate-stage';
import type { MigrationRun } from './migration-run';
import { teacherBaselineWithinBudget } from './teacher-baseline-budget';

const nameOf = (m: ServiceModel) => `${m.provider}/${m.model}${m.baseURL ? `@${m.baseURL}` : ''}`;

/** The baselines to measure, each with a label safe for artifact keys and evaluation subjects. */
export function extraBaselines(
  config: MigrationConfig,
): { model: ServiceModel; name: string; label: string }[] {
  const seen = new Set([nameOf(config.synthesis.teacher)]);
  const out: { model: ServiceModel; name: string; label: string }[] = [];
  for (const model of config.evaluation.baselines ?? []) {
    const name = nameOf(model);
    if (seen.has(name)) continue;
    seen.add(name);
    const slug = name
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 48);
    out.push({ model, name: `${model.provider}/${model.model}`, label: `baseline-${out.length}-${slug}` });
  }
  return out;
}

/** Fills state.baselines; never ends the migration. */
export async function measureServiceBaselines(run: MigrationRun): Promise<void> {
  const { config, migrationId, state } = run;
  const wanted = extraBaselines(config);
  if (wanted.length === 0 || !patched('service-baselines')) return;
  const { llm } = activityProxies(run.tuning);
  const measured: ServiceBaseline[] = [];
  for (const b of wanted) {
    run.setStage('teacher-baseline', b.name);
    const gen = await teacherBaselineWithinBudget(
      llm,
      `${b.name} answers ${state.ingest.test.count ?? '?'} test prompts (baseline)`,
      {
        migrationId,
        test: state.ingest.test,
        teacher: b.model,
        responsesPerPrompt: config.inference.responsesPerPrompt,
        label: b.label,
      },
      run.remainingUsd(),
    );
    if ('refused' in gen) break;
    run.spend('teacher-baseline', gen.usage);
    const evaluation = await evaluateGenerations(
      {
        migrationId,
        cycle: 0,
        subject: b.label,
        test: state.ingest.test,
        generations: gen.generations,
        evaluation: { ...config.evaluation, pairwise: false },
      },
      run.tuning,
      run.remainingUsd(),
      run.onShard,
    );
    if (!evaluation) break;
    run.spend('evaluate', evaluation.usage);
    measured.push({ model: b.name, evaluation: evaluation.summary, judgments: evaluation.judgments });
  }
  state.baselines = measured;
}
