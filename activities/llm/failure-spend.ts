// A failure that says what its activity paid before it failed: the workflow adds it to the migration's spend,
// so a failed or budget-stopped migration reports what it really cost (workflows/failure-spend.ts reads it).
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import type { Usage } from '../../common/types';

/**
 * `err` (an ApplicationFailure) with `{ usage }` merged into its first detail; a cancellation as one with
 * `{ usage }` as its detail (the activity still reports itself cancelled); other errors as they are.
 */
export function withSpend(err: unknown, usage: Usage): unknown {
  if (err instanceof CancelledFailure) return new CancelledFailure(err.message, [{ usage }], err.cause);
  if (!(err instanceof ApplicationFailure)) return err;
  const first = err.details?.[0];
  const detail = first && typeof first === 'object' ? { ...first, usage } : { usage };
  return ApplicationFailure.create({
    type: err.type ?? undefined,
    message: err.message,
    nonRetryable: err.nonRetryable ?? undefined,
    details: [detail, ...(err.details ?? []).slice(1)],
    nextRetryDelay: err.nextRetryDelay,
    cause: err.cause,
  });
}
