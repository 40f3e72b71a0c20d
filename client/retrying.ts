// Activities the server is retrying, read from the workflow's description: the console shows them so a stage
// whose activity keeps failing and backing off reads as "retrying", not as stuck.
import type { WorkflowExecutionDescription } from '@temporalio/client';

export interface RetryingActivity {
  activity: string;
  attempt: number;
  /** the last attempt's failure message, one line */
  lastFailure?: string;
}

type PendingActivity = NonNullable<WorkflowExecutionDescription['raw']['pendingActivities']>[number];

/** The first line of a failure message, at most `max` characters. */
export function oneLine(message: string, max = 160): string {
  const line = message.split('\n').find((l) => l.trim()) ?? '';
  const t = line.trim().replace(/\s+/g, ' ');
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
}

/** The pending activities past their first attempt, in the order the server lists them. */
export function retryingActivities(
  pending: readonly PendingActivity[] | null | undefined,
): RetryingActivity[] {
  const out: RetryingActivity[] = [];
  for (const a of pending ?? []) {
    const attempt = a.attempt ?? 1;
    if (attempt <= 1) continue;
    // the root cause's message says more than a wrapper's ("activity failed")
    let f = a.lastFailure ?? null;
    while (f?.cause) f = f.cause;
    const message = f?.message ? oneLine(f.message) : undefined;
    out.push({
      activity: a.activityType?.name ?? 'activity',
      attempt,
      ...(message ? { lastFailure: message } : {}),
    });
  }
  return out;
}
