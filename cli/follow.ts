// Follows one migration until it ends: the progress view live (in place on a terminal), then either the result
// or, when it failed, one paragraph on stderr with the whole failure chain written to the log file.
import { WorkflowFailedError } from '@temporalio/client';
import { CancelledFailure, TerminatedFailure, TimeoutFailure } from '@temporalio/common';
import type { MigrationClient } from '../client/migrations';
import type { MigrationResult, Progress } from '../common/progress';
import { failureParagraph } from './failure-paragraph';
import { LiveView } from './live-view';
import type { LogFile } from './log-file';
import { progressLine, renderProgress } from './progress-view';

export interface FollowOptions {
  json: boolean;
  view: LiveView;
  log: LogFile;
  /** refresh interval; default 1 s on a terminal, 5 s elsewhere (lines are printed only when they change) */
  intervalMs?: number;
  uiLink?: string;
}

export type EndStatus = 'COMPLETED' | 'FAILED' | 'CANCELED' | 'TERMINATED' | 'TIMED_OUT';

export interface FollowOutcome {
  status: EndStatus;
  result?: MigrationResult;
  progress: Progress | null;
  error?: unknown;
}

export async function followMigration(
  mc: MigrationClient,
  id: string,
  opts: FollowOptions,
): Promise<FollowOutcome> {
  const interval = opts.intervalMs ?? (process.stdout.isTTY ? 1000 : 5000);
  let progress: Progress | null = null;
  /** how the workflow ended, shown in the last frame (the progress query still says "running" after a failure) */
  let ended: Progress['status'] | undefined;
  /** the last stage that was not 'done': a failed migration's cleanup moves it to 'done' before it closes */
  let workingStage: string | undefined;
  const refresh = async () => {
    try {
      progress = await mc.getProgress(id);
    } catch {
      return; // between runs of continue-as-new, or no worker to answer right now
    }
    if (progress.stage !== 'done') workingStage = progress.stage;
    if (ended && progress.status === 'running') progress = { ...progress, status: ended };
    // a stage whose activity keeps failing and backing off shows that, instead of a frame that never moves
    const retrying = ended || opts.json ? [] : await mc.retrying(id).catch(() => []);
    if (!opts.json) opts.view.update(renderProgress(progress, retrying), progressLine(progress, retrying));
  };

  let settled = false;
  const outcome = mc
    .result(id)
    .then(
      (result) => ({ result }),
      (error: unknown) => ({ error }),
    )
    .finally(() => {
      settled = true;
    });
  while (!settled) {
    await refresh();
    if (settled) break;
    await Promise.race([outcome, new Promise((r) => setTimeout(r, interval))]);
  }
  const end = await outcome;
  const status = 'result' in end ? 'COMPLETED' : endStatus(end.error);
  if (status !== 'COMPLETED') ended = status.toLowerCase() as Progress['status'];
  await refresh();
  opts.view.done();
  if ('result' in end) return { status: 'COMPLETED', result: end.result, progress };
  const last = (progress as Progress | null)?.stage;
  const stage = last === 'done' ? (workingStage ?? last) : last;
  opts.log.failure(`migration ${id} ended ${status}${stage ? ` in stage ${stage}` : ''}`, end.error, {
    workflowId: id,
  });
  const paragraph = failureParagraph(end.error, {
    workflowId: id,
    stage,
    logFile: opts.log.file,
    uiLink: opts.uiLink,
  });
  if (opts.json) console.error(JSON.stringify({ workflowId: id, status, error: paragraph }));
  else console.error(`\n${paragraph}`);
  return { status, progress, error: end.error };
}

function endStatus(err: unknown): EndStatus {
  if (!(err instanceof WorkflowFailedError)) return 'FAILED';
  if (err.cause instanceof TerminatedFailure) return 'TERMINATED';
  if (err.cause instanceof CancelledFailure) return 'CANCELED';
  if (err.cause instanceof TimeoutFailure) return 'TIMED_OUT';
  return 'FAILED';
}
