// What failed work paid before it failed. An activity failure carries it in its first detail
// (activities/llm/failure-spend.ts); a synthesis child that fails passes on its own total the same way, so
// the migration's spend (progress, report, budget) counts every call paid for, on every ending.
import {
  ApplicationFailure,
  CancellationScope,
  CancelledFailure,
  defineSignal,
  getExternalWorkflowHandle,
  isCancellation,
  TemporalFailure,
  workflowInfo,
} from '@temporalio/workflow';
import type { Usage } from '../common/types';

/** Histories from before this change dropped the spend of failed shards and children. */
export const FAILURE_SPEND_PATCH = 'spend-of-failed-work';

function isUsage(u: unknown): u is Usage {
  return !!u && typeof u === 'object' && typeof (u as Usage).usd === 'number';
}

/** The spend a failure (an activity's or a child's, at any depth of its cause chain) reports, if any. */
export function spentIn(err: unknown): Usage | null {
  for (let e: unknown = err; e instanceof TemporalFailure; e = e.cause) {
    if (e instanceof ApplicationFailure || e instanceof CancelledFailure) {
      const usage = (e.details?.[0] as { usage?: unknown } | undefined)?.usage;
      if (isUsage(usage)) return usage;
    }
  }
  return null;
}

/**
 * The failure a workflow that spent `usage` closes with: `err` wrapped with the spend (same message, never
 * retried), or `err` itself for a cancellation, which must stay one.
 */
export function failedWithSpend(err: unknown, usage: Usage): unknown {
  if (isCancellation(err) || !(err instanceof TemporalFailure)) return err;
  return ApplicationFailure.create({
    type: 'FailedAfterSpending',
    message: rootOf(err).message,
    nonRetryable: true,
    details: [{ usage }],
    cause: err,
  });
}

function rootOf(err: TemporalFailure): Error {
  let e: Error = err;
  while (e.cause instanceof Error) e = e.cause;
  return e;
}

/**
 * From a cancelled synthesis child to its migration: what it paid (a cancelled workflow closes without
 * details). Sent before the child closes, so the migration counts it before its own ending is recorded.
 */
export const synthesisSpentSignal = defineSignal<[Usage]>('synthesisSpent');

export async function reportSpendToParent(usage: Usage): Promise<void> {
  const parent = workflowInfo().parent;
  if (!parent || usage.usd <= 0) return;
  await CancellationScope.nonCancellable(() =>
    getExternalWorkflowHandle(parent.workflowId, parent.runId)
      .signal(synthesisSpentSignal, usage)
      .catch(() => undefined),
  );
}
