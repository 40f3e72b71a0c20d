// How a migration ends. Normally (target met, max cycles, stop, budget): promote the best adapter if the
// config asks for it, export it (merged weights, GGUF) if the config asks for that, write the report, publish
// the final status. On a failure or a cancel: delete whatever GPU work of this migration may still run, then
// record the status and write the report all the same, in a non-cancellable scope so a cancelled workflow still
// gets to do it.
import {
  CancellationScope,
  CancelledFailure,
  isCancellation,
  patched,
  TimeoutFailure,
  ActivityFailure,
  type ApplicationFailure,
} from '@temporalio/workflow';
import { TimeoutType } from '@temporalio/common';
import type { MigrationResult, PromotionRecord } from '../common/progress';
import { activityProxies, cleanupProxies } from './activity-proxies';
import type { Ending } from './ending';
import type { MigrationRun } from './migration-run';
import { EXPORT_BEST_PATCH, exportBest, wantsExport } from './export-stage';
import { promoteIfBetter } from './promotion-stage';

async function writeReport(run: MigrationRun) {
  const { data } = activityProxies(run.tuning);
  return data.writeReport.executeWithOptions({ summary: 'write the HTML report' }, [
    { migrationId: run.migrationId, config: run.config, progress: run.progress() },
  ]);
}

export async function finish(run: MigrationRun, ending: Ending): Promise<MigrationResult> {
  const { config, state } = run;
  if (ending.decision) state.decisions.push(ending.decision);
  let promotion: PromotionRecord | null = null;
  const best = run.best();
  if (config.promotion && best) {
    run.setStage('promote', config.promotion.channel);
    promotion = await promoteIfBetter({
      migrationId: run.migrationId,
      config,
      channel: config.promotion.channel,
      best,
      test: state.ingest.test,
      teacherGenerations: state.teacher?.generations,
      target: state.target,
      remainingUsd: run.remainingUsd(),
      tuning: run.tuning,
      onSpend: (u) => run.spend('promote', u),
    });
  }
  // Only taken when the config asks for an export, so runs without one replay unchanged either way.
  if (best && wantsExport(run) && patched(EXPORT_BEST_PATCH)) await exportBest(run, best, rootMessage);
  run.status = ending.status;
  // A failed export leaves the migration's status as training and evaluation decided it; the stage detail
  // (`llamaduo status`, the workflow's current details) says it failed, as do the result and the report.
  run.setStage(
    'done',
    run.exported?.error ? `${ending.status}; export of the best adapter failed` : ending.status,
  );
  // The final status goes out before the report: a report write that keeps retrying (store down, a bug fixed by
  // a new build) must not leave `llamaduo list` showing a finished migration as running. Histories from before
  // this published it after the report.
  const statusFirst = patched('final-status-before-report');
  if (statusFirst) run.publish();
  const report = await writeReport(run);
  if (!statusFirst) run.publish();
  return {
    migrationId: run.migrationId,
    status: run.status,
    cycles: state.cycles,
    syntheses: state.syntheses,
    decisions: state.decisions,
    best,
    teacher: state.teacher?.evaluation ?? null,
    ...(state.baselines?.length ? { baselines: state.baselines } : {}),
    spend: state.spend,
    promotion,
    ...(run.exported ? { export: run.exported } : {}),
    report,
  };
}

/** The innermost message of a failure chain: what actually went wrong, not "Activity task failed". */
export function rootMessage(err: unknown): string {
  let e = err as (ActivityFailure | ApplicationFailure | Error) & { cause?: unknown };
  let activityType = 'the step';
  for (let f: unknown = err; f instanceof Error; f = f.cause) {
    if (f instanceof ActivityFailure) activityType = f.activityType;
    if (f instanceof TimeoutFailure && f.timeoutType === TimeoutType.SCHEDULE_TO_START)
      return `no worker picked up ${activityType} in time: is a worker for its task queue (GPU for fine-tune and generate) running?`;
  }
  while (e && (e as { cause?: unknown }).cause instanceof Error) e = e.cause as typeof e;
  return e instanceof Error ? e.message : String(err);
}

/**
 * After the migration failed or was cancelled: clean up, record, report. Returns the error the workflow closes
 * with: the original one, or a CancelledFailure when a cancel was requested but the activity it interrupted
 * ended otherwise (timed out while stopping). Old histories (before this ending existed) replay the old way:
 * nothing after the error.
 */
export async function endAbnormally(run: MigrationRun, err: unknown): Promise<unknown> {
  if (!patched('final-status-on-every-ending')) return err;
  const cancelled = isCancellation(err) || CancellationScope.current().consideredCancelled;
  const failedIn = run.stage;
  await CancellationScope.nonCancellable(async () => {
    const { deleteGpuWork } = cleanupProxies(run.tuning);
    try {
      await deleteGpuWork({ migrationId: run.migrationId, gpu: run.config.gpu });
    } catch {
      // No GPU worker within the cleanup's deadline: the reaper deletes what remains (docs/operations.md).
    }
    run.status = cancelled ? 'cancelled' : 'failed';
    run.setStage('done', `${run.status} in ${failedIn}: ${cancelled ? 'cancelled' : rootMessage(err)}`);
    run.publish();
    const { writeReport: boundedReport } = cleanupProxies();
    try {
      await boundedReport.executeWithOptions({ summary: `write the HTML report (${run.status})` }, [
        { migrationId: run.migrationId, config: run.config, progress: run.progress() },
      ]);
    } catch {
      // the status is published; the original failure is what the workflow closes with
    }
  });
  return cancelled && !isCancellation(err)
    ? new CancelledFailure(`cancelled (the interrupted step ended with: ${rootMessage(err)})`)
    : err;
}
