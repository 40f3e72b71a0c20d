// Which billed provider calls the migration's account must lack, and which it may lack. Must: replies the
// server billed but could not hand over for the attempt that closed its activity (the client had hung up).
// May, besides: every call of the other attempts (killed, timed out on their heartbeat, or failed and retried;
// their results and usage die with them unless checkpointed), and a reply handed over that the closing
// attempt asked for again (it had timed out before reading it). The chaos worker names the attempt in a
// header on every request it sends.

export const ATTEMPT_HEADER = 'x-chaos-attempt';

export interface AttemptTag {
  workflowId: string;
  runId: string;
  activityId: string;
  attempt: number;
}

export interface AnsweredCall {
  /** what it asked (system prompt, messages, output schema), to find the same request asked again */
  request: string;
  /** the activity attempt that sent it; absent when a request came without the header */
  attempt?: AttemptTag;
  /** its reply was handed to the operating system for a client still connected */
  delivered: boolean;
}

export interface LostCalls {
  /** calls of attempts other than the one that closed their activity with a result or a failure */
  deadAttempts: number;
  /** replies never handed over for a closing attempt */
  undelivered: number;
  /** replies handed over for a closing attempt that asked the same request again afterwards */
  askedAgain: number;
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
  const lost: LostCalls = { deadAttempts: 0, undelivered: 0, askedAgain: 0, untagged: 0 };
  const later = new Set<string>(); // requests of closing attempts, seen walking back from the last call
  for (const call of [...answered].reverse()) {
    const t = call.attempt;
    if (!t) lost.untagged++;
    else if (closingAttempt(t) !== t.attempt) lost.deadAttempts++;
    else {
      const key = JSON.stringify([t.workflowId, t.runId, t.activityId, call.request]);
      if (!call.delivered) lost.undelivered++;
      else if (later.has(key)) lost.askedAgain++;
      later.add(key);
    }
  }
  return lost;
}
