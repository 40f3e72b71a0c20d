// Which billed provider calls the migration's account must lack, and which it may lack. Must: replies the
// server billed but could not deliver to the attempt that closed its activity (the client had hung up). May,
// besides: every call of the other attempts (killed, timed out on their heartbeat, or failed and retried; their
// results and usage die with them unless checkpointed). The chaos worker names the attempt in a header on
// every request it sends.

export const ATTEMPT_HEADER = 'x-chaos-attempt';

export interface AttemptTag {
  workflowId: string;
  runId: string;
  activityId: string;
  attempt: number;
}

export interface AnsweredCall {
  /** the activity attempt that sent it; absent when a request came without the header */
  attempt?: AttemptTag;
  /** its reply reached the client */
  delivered: boolean;
}

export interface LostCalls {
  /** calls of attempts other than the one that closed their activity with a result or a failure */
  deadAttempts: number;
  /** replies the closing attempts never received */
  undelivered: number;
  /** calls that named no attempt (sent outside an activity, or the header went missing) */
  untagged: number;
}

export function attemptHeader(tag: AttemptTag): string {
  return encodeURIComponent(JSON.stringify(tag));
}

/** The header's attempt, or undefined when it is absent or not an attempt tag. */
export function attemptTagOf(header: string | string[] | undefined): AttemptTag | undefined {
  if (typeof header !== 'string') return undefined;
  try {
    const t = JSON.parse(decodeURIComponent(header)) as Partial<AttemptTag>;
    if (typeof t.workflowId !== 'string' || typeof t.runId !== 'string') return undefined;
    if (typeof t.activityId !== 'string' || typeof t.attempt !== 'number') return undefined;
    return { workflowId: t.workflowId, runId: t.runId, activityId: t.activityId, attempt: t.attempt };
  } catch {
    return undefined;
  }
}

/**
 * Sorts the answered calls. `closingAttempt` gives the attempt that closed an activity with a result or a
 * failure (from its workflow's history); undefined when none did (it timed out, or never closed): then every
 * call of it counts as a dead attempt's.
 */
export function lostCalls(
  answered: readonly AnsweredCall[],
  closingAttempt: (t: AttemptTag) => number | undefined,
): LostCalls {
  const lost: LostCalls = { deadAttempts: 0, undelivered: 0, untagged: 0 };
  for (const call of answered) {
    if (!call.attempt) lost.untagged++;
    else if (closingAttempt(call.attempt) !== call.attempt.attempt) lost.deadAttempts++;
    else if (!call.delivered) lost.undelivered++;
  }
  return lost;
}
