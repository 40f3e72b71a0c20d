// The LlamaDuo cycle as one durable workflow per migration (paper section 3):
//   ingest -> [fine-tune -> generate -> evaluate -> decide -> synthesize] until the target is met,
// max cycles are run, the budget is spent or a stop is requested. Each run of this workflow executes one
// cycle and continues-as-new with a small carried state, so history stays bounded at any data volume.
// Every ending, a failure or a cancel included, leaves a final status and a report (finish-stage.ts).
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  ContinueAsNew,
  TemporalFailure,
  upsertMemo,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { MigrationResult } from '../common/progress';
import { ingestAndTeacherBaseline } from './baseline-stage';
import { recordAndDecide } from './decide-stage';
import { noEvaluation } from './ending';
import { evaluateGenerations } from './evaluate-stage';
import { endAbnormally, finish } from './finish-stage';
import { installHandlers } from './migration-handlers';
import { MigrationRun, type MigrationInput } from './migration-run';
import { SA_BASE_MODEL, SA_TEACHER } from './search-attributes';
import { fineTuneAndGenerate } from './student-stage';
import { synthesizeForNextCycle } from './synthesize-stage';

export type { MigrationInput } from './migration-run';

export async function migrationWorkflow(input: MigrationInput): Promise<MigrationResult> {
  const run = new MigrationRun(input);
  installHandlers(run);
  try {
    return await oneCycle(run);
  } catch (err) {
    // Continue-as-new arrives here as a thrown command, not as an ending. A plain Error is a bug in workflow
    // code: it must fail the workflow task (and be fixed by a new build), not close the migration.
    if (err instanceof ContinueAsNew || !(err instanceof TemporalFailure)) throw err;
    throw await endAbnormally(run, err);
  }
}

async function oneCycle(run: MigrationRun): Promise<MigrationResult> {
  const { config, state } = run;
  if (run.isFirstRun) {
    const teacher = `${config.synthesis.teacher.provider}/${config.synthesis.teacher.model}`;
    upsertSearchAttributes([
      { key: SA_BASE_MODEL, value: config.baseModel },
      { key: SA_TEACHER, value: teacher },
    ]);
    upsertMemo({
      name: config.name,
      baseModel: config.baseModel,
      teacher,
      judges: config.evaluation.judges.map((j) => `${j.provider}/${j.model}`).join(', '),
      dataset: config.dataset.path,
    });
  }
  run.publish();

  // ---- once per migration: ingest and the teacher's own baseline -----------------------------------
  if (run.isFirstRun) {
    const ending = await ingestAndTeacherBaseline(run);
    if (ending) return finish(run, ending);
  }

  // ---- one cycle -------------------------------------------------------------------------------------
  const student = await fineTuneAndGenerate(run);

  run.setStage('evaluate');
  const evaluation = await evaluateGenerations(
    {
      migrationId: run.migrationId,
      cycle: state.cycle,
      subject: 'student',
      test: state.ingest.test,
      generations: student.gen.generations,
      reference: state.teacher?.generations,
      evaluation: config.evaluation,
    },
    run.tuning,
    run.remainingUsd(),
    run.onShard,
    (u) => run.spend('evaluate', u),
  );
  if (!evaluation)
    return finish(run, {
      status: 'budget-exhausted',
      decision: noEvaluation(state.cycle, `the budget cannot pay for evaluating cycle ${state.cycle}`),
    });
  run.spend('evaluate', evaluation.usage);

  const verdict = recordAndDecide(run, student, evaluation);
  if (verdict.ending) return finish(run, verdict.ending);

  // ---- synthesize more data for the next cycle (keeping enough for its evaluation) --------------------
  const ending = await synthesizeForNextCycle(run, evaluation.usage.usd, verdict.decision);
  if (ending) return finish(run, ending);

  state.cycle++;
  run.publish();
  await condition(allHandlersFinished);
  return continueAsNew<typeof migrationWorkflow>({
    migrationId: run.migrationId,
    config,
    state,
    tuning: run.input.tuning,
  });
}
