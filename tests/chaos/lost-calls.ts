// Which billed provider calls the migration's account may lack: the calls of activity attempts that did not
// close their activity (killed, timed out on their heartbeat, or failed and retried: their results and usage
// die with them unless checkpointed), and replies an attempt gave up on and asked for again (billed after the
// client's timeout). The chaos worker names the attempt in a header on every request it sends.

export const ATTEMPT_HEADER = 'x-chaos-attempt';

export interface AttemptTag {
  workflowId: string;
  runId: string;
  activityId: string;
  attempt: number;
}

export interface AnsweredCall {
  system: string;
  messages: readonly { role: string; content: string }[];
  schema?: unknown;
  /** the activity attempt that sent it; absent when a request came without the header */
  attempt?: AttemptTag;
}

export interface LostCalls {
  /** calls of attempts other than the one that closed their activity */
  deadAttempts: number;
  /** earlier copies of a request the closing attempt asked again */
  askedAgain: number;
  /** calls that named no attempt (sent outside an activity, or the header went missing) */
  untagged: number;
}

/** The header's attempt, or undefined when it is absent or not an attempt tag. */
export function attemptTagOf(header: string | string[] | undefined): AttemptTag | undefined {
  if (typeof header !== 'string') return undefined;
  try {
    const t = JSON.parse(header) as Partial<AttemptTag>;
    if (typeof t.workflowId !== 'string' || typeof t.runId !== 'string') return undefined;
    if (typeof t.activityId !== 'string' || typeof t.attempt !== 'number') return undefined;
    return { workflowId: t.workflowId, runId: t.runId, activityId: t.activityId, attempt: t.attempt };
  } catch {
    return undefined;
  }
}

/**
 * Counts the calls the account may lack. `closingAttempt` gives the attempt number that closed an activity
 * (from its workflow's history), undefined when the history shows none: then every call of it counts.
 */
export function lostCalls(
  answered: readonly AnsweredCall[],
  closingAttempt: (t: AttemptTag) => number | undefined,
): LostCalls {
  const lost: LostCalls = { deadAttempts: 0, askedAgain: 0, untagged: 0 };
  const seen = new Set<string>();
  for (const call of answered) {
    const t = call.attempt;
    if (!t) {
      lost.untagged++;
      continue;
    }
    if (closingAttempt(t) !== t.attempt) {
      lost.deadAttempts++;
      continue;
    }
    const key = JSON.stringify([
      t.workflowId,
      t.runId,
      t.activityId,
      call.system,
      call.messages,
      call.schema,
    ]);
    if (seen.has(key)) lost.askedAgain++;
    else seen.add(key);
  }
  return lost;
}
