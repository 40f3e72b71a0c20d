// Once per migration: ingest the coverage dataset (train/test split), then have the teacher answer the test
// prompts and judge its answers: the baseline a relative target and pairwise judging compare against; then
// the base student's own answers, judged the same way: the starting point every cycle is compared with.
import { patched } from '@temporalio/workflow';
import { activityProxies } from './activity-proxies';
import { measureBaseStudent } from './base-stage';
import { noEvaluation, type Ending } from './ending';
import { evaluateGenerations } from './evaluate-stage';
import type { MigrationRun } from './migration-run';
import { measureServiceBaselines } from './service-baselines';
import { teacherBaselineWithinBudget } from './teacher-baseline-budget';

/** Fills state.ingest and state.teacher; returns an ending if the budget cannot pay for the baseline. */
export async function ingestAndTeacherBaseline(run: MigrationRun): Promise<Ending | null> {
  const { config, migrationId, state } = run;
  const { data, llm } = activityProxies(run.tuning);
  run.setStage('ingest', config.dataset.path);
  state.ingest = await data.ingestCoverage.executeWithOptions({ summary: `ingest ${config.dataset.path}` }, [
    { migrationId, dataset: config.dataset, split: config.split },
  ]);

  run.setStage('teacher-baseline');
  const teacherGen = await teacherBaselineWithinBudget(
    llm,
    `teacher ${config.synthesis.teacher.model} answers ${state.ingest.test.count ?? '?'} test prompts`,
    {
      migrationId,
      test: state.ingest.test,
      teacher: config.synthesis.teacher,
      responsesPerPrompt: config.inference.responsesPerPrompt,
    },
    run.remainingUsd(),
    (u) => run.spend('teacher-baseline', u),
  );
  if ('refused' in teacherGen)
    return { status: 'budget-exhausted', decision: noEvaluation(state.cycle, teacherGen.refused) };
  run.spend('teacher-baseline', teacherGen.usage);
  const teacherEval = await evaluateGenerations(
    {
      migrationId,
      cycle: 0,
      subject: 'teacher',
      test: state.ingest.test,
      generations: teacherGen.generations,
      evaluation: { ...config.evaluation, pairwise: false },
    },
    run.tuning,
    run.remainingUsd(),
    run.onShard,
    (u) => run.spend('evaluate', u),
  );
  if (!teacherEval)
    return {
      status: 'budget-exhausted',
      decision: noEvaluation(state.cycle, 'the budget cannot pay for the teacher baseline evaluation'),
    };
  run.spend('evaluate', teacherEval.usage);
  state.teacher = {
    generations: teacherGen.generations,
    judgments: teacherEval.judgments,
    evaluation: teacherEval.summary,
  };
  await measureServiceBaselines(run);
  // the starting point the report compares every cycle with; histories from before it never measured it
  if (patched('base-student-eval'))
    state.base = await measureBaseStudent({
      migrationId,
      config,
      test: state.ingest.test,
      teacher: state.teacher,
      target: state.target,
      remainingUsd: run.remainingUsd(),
      tuning: run.tuning,
      onStage: (s) => {
        run.setStage(s, 'base student');
        run.baseStudent = true;
      },
      onShard: run.onShard,
      onSpend: (u) => run.spend('evaluate', u),
    });
  return null;
}
