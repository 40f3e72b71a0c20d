// How often a GPU step itself failed (the trainer crashed, a volume would not mount), counted in the step's
// artifact directory across activity attempts. Temporal's attempt number also counts worker crashes and
// heartbeat timeouts, during which the Job keeps running and is adopted by the next attempt (or, on the local
// backend, the trainer process vanishes with the worker): those must not use up the step's retries. Evictions and preemptions (the trainer resumes from its checkpoint) are not
// counted either.
import { ApplicationFailure } from '@temporalio/common';
import type { ArtifactStore } from '../store/artifact-store';
import { FAILURE_TYPES } from './failures';

/** A step that failed this many times by itself is not retried again. */
export const MAX_STEP_FAILURES = 4;

const COUNTED: ReadonlySet<string> = new Set([FAILURE_TYPES.crashed.type, FAILURE_TYPES.volumeMount.type]);

/**
 * Records a retryable failure of the step's own making in `<dir>/failures.json` and returns the error to
 * throw: the same one, or a non-retryable copy once the step has failed MAX_STEP_FAILURES times.
 */
export async function countStepFailure(store: ArtifactStore, dir: string, err: unknown): Promise<unknown> {
  if (!(err instanceof ApplicationFailure) || err.nonRetryable || !COUNTED.has(err.type ?? '')) return err;
  if ((err.details?.[0] as { lost?: boolean } | undefined)?.lost) return err; // went with a killed worker
  const key = `${dir}/failures.json`;
  const before = (await store.find(key, { countLines: false }))
    ? (await store.readJson<{ failures: number }>(key)).failures
    : 0;
  const failures = before + 1;
  await store.writeJson(key, { failures, last: err.message.slice(0, 500) });
  if (failures < MAX_STEP_FAILURES) return err;
  return ApplicationFailure.create({
    type: err.type ?? undefined,
    message: `${err.message} (the step failed ${failures} times; not retried again)`,
    nonRetryable: true,
    details: err.details ? [...err.details] : undefined,
  });
}
