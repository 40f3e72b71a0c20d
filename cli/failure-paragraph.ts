// Turns the failure chain a failed migration throws at the client (WorkflowFailedError -> ChildWorkflowFailure
// -> ActivityFailure -> ApplicationFailure ...) into one paragraph a person can act on: what failed, the root
// cause's own message, what to do. Stack traces never go here; they go to the log file (see log-file.ts).
import { WorkflowFailedError } from '@temporalio/client';
import {
  ActivityFailure,
  ApplicationFailure,
  CancelledFailure,
  ChildWorkflowFailure,
  TerminatedFailure,
  TimeoutFailure,
} from '@temporalio/common';

/** The pipeline stage each activity belongs to (the names the progress view shows). */
const ACTIVITY_STAGE: Record<string, string> = {
  ingestCoverage: 'ingest',
  teacherBaseline: 'teacher-baseline',
  fineTune: 'fine-tune',
  generate: 'generate',
  planEvaluation: 'evaluate',
  judgeShard: 'evaluate',
  summarizeEvaluation: 'evaluate',
  planSynthesis: 'synthesize',
  synthesizeShard: 'synthesize',
  curateSynthesis: 'synthesize',
  readPromoted: 'promote',
  promote: 'promote',
  exportAdapter: 'export',
  writeReport: 'report',
};

const WORKFLOW_STAGE: Record<string, string> = { synthesisWorkflow: 'synthesize' };

export interface FailureContext {
  /** the migration's workflow id */
  workflowId?: string;
  /** the stage the progress query last showed, used when the chain names no activity */
  stage?: string;
  /** where the full chain and stack traces were written */
  logFile?: string;
  /** the Temporal UI page of the workflow */
  uiLink?: string;
}

export interface FailureSummary {
  /** e.g. "the teacher-baseline stage (activity teacherBaseline)" */
  what: string;
  /** the root cause's own message */
  cause: string;
  /** the ApplicationFailure type of the root cause, when there is one */
  type?: string;
  advice: string;
}

/** The chain of causes, outermost first (cycles and very deep chains are cut). */
export function causeChain(err: unknown): unknown[] {
  const chain: unknown[] = [];
  let e: unknown = err;
  while (e !== undefined && e !== null && chain.length < 32 && !chain.includes(e)) {
    chain.push(e);
    e = (e as { cause?: unknown }).cause;
  }
  return chain;
}

const oneLine = (s: string, max = 600) => {
  const flat = s.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
};

export function summarizeFailure(err: unknown, ctx: FailureContext = {}): FailureSummary {
  const chain = causeChain(err);
  const activity = chain.findLast((e): e is ActivityFailure => e instanceof ActivityFailure);
  const child = chain.findLast((e): e is ChildWorkflowFailure => e instanceof ChildWorkflowFailure);
  const root = chain.at(-1);

  const stage =
    (activity && ACTIVITY_STAGE[activity.activityType]) ??
    (child && WORKFLOW_STAGE[child.workflowType]) ??
    ctx.stage;
  const parts: string[] = [];
  if (activity) parts.push(`activity ${activity.activityType}`);
  else if (child) parts.push(`child workflow ${child.workflowType}`);
  const what = stage
    ? `the ${stage} stage${parts.length ? ` (${parts.join(', ')})` : ''}`
    : parts.length
      ? `the ${parts.join(', ')}`
      : 'the migration';

  let cause: string;
  let type: string | undefined;
  if (root instanceof TimeoutFailure) {
    cause = `it timed out (${timeoutName(root.timeoutType)})`;
  } else if (root instanceof CancelledFailure) {
    cause = 'it was cancelled';
  } else if (root instanceof TerminatedFailure) {
    cause = `it was terminated${root.message && root.message !== 'Terminated' ? `: ${root.message}` : ''}`;
  } else if (root instanceof Error) {
    cause = root.message || root.name;
    type = root instanceof ApplicationFailure ? (root.type ?? undefined) : root.name;
  } else {
    cause = String(root);
  }
  return { what, cause: oneLine(cause), type, advice: adviceFor(root, type, ctx) };
}

/** One paragraph: "<id>: <what> failed: <cause>. <advice>" — never a stack frame, never several screens. */
export function failureParagraph(err: unknown, ctx: FailureContext = {}): string {
  const s = summarizeFailure(err, ctx);
  const cause = /[.!?…]$/.test(s.cause) ? s.cause : `${s.cause}.`;
  const subject = ctx.workflowId
    ? `Migration ${ctx.workflowId} failed in ${s.what}`
    : `${cap(s.what)} failed`;
  return `${subject}: ${cause} ${s.advice}`;
}

/**
 * Any error that ends a command (not only a migration's failure: a dev server that would not start, a start
 * the server refused): a failed workflow gets failureParagraph; anything else its own message's gist on one
 * line, and where the whole error is. A message that opens with "...:" and then carries a process's output
 * (the dev server's) gets that opening and its last line, which is where such output says what went wrong.
 */
export function errorParagraph(err: unknown, logFile?: string): string {
  if (err instanceof WorkflowFailedError) return failureParagraph(err, { logFile });
  const lines = String((err as Error)?.message ?? err)
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  let gist = lines[0] ?? String(err);
  if (gist.endsWith(':') && lines.length > 1) gist = `${gist} ${lines.at(-1)!}`;
  return `error: ${oneLine(gist, 400)}${logFile ? ` (details: ${logFile})` : ''}`;
}

function adviceFor(root: unknown, type: string | undefined, ctx: FailureContext): string {
  const details = [
    ctx.logFile ? `the full error and stack traces are in ${ctx.logFile}` : '',
    ctx.uiLink ? `the workflow history is at ${ctx.uiLink}` : '',
  ].filter(Boolean);
  const more = details.length ? ` (${details.join('; ')})` : '';
  const again = `then start the migration again${more}.`;
  if (root instanceof TimeoutFailure)
    return `Check that a worker serving this stage is running and healthy, ${again}`;
  if (root instanceof CancelledFailure || root instanceof TerminatedFailure)
    return `Nothing to fix if that was intended; otherwise ${again}`;
  switch (type) {
    case 'MissingCredentials':
      return `Set the environment variable it names where the worker runs, ${again}`;
    case 'InvalidDataset':
      return `Fix the dataset (file, line and field are named above), ${again}`;
    case 'InvalidConfig':
    case 'InvalidSpec':
      return `Fix the config (\`llamaduo validate <config>\` checks it), ${again}`;
    case 'BudgetExceeded':
      return `Raise budget.maxUsd in the config or lower the volumes, ${again}`;
    case 'SynthesisFailed':
      return `Look at the synthesis drop counts above and the teacher's answers, adjust synthesis settings, ${again}`;
  }
  if (type?.startsWith('LlmError:')) {
    if (/\b40[13]\b|authentication/i.test(root instanceof Error ? root.message : String(root)))
      return `Check the API key variable for that provider (and baseURL, if set), ${again}`;
    if (type === 'LlmError:rate-limited')
      return `Lower rpm/tpm/concurrency for that model in the config or wait for the provider's limit, ${again}`;
    return `Check the provider and model named above (and baseURL, if set), ${again}`;
  }
  return `Fix the cause above, ${again}`;
}

function timeoutName(t: TimeoutFailure['timeoutType'] | undefined): string {
  return t ? `${t.toLowerCase().replace(/_/g, '-')} timeout` : 'timeout';
}

const cap = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
