// The migration's side of a running synthesis child: a budget change or a stop request made while the child
// runs is forwarded to it (synthesisLimitsSignal), so the child's spend follows the migration's budget and a
// stop takes effect within the shards already in flight instead of after the whole synthesis.
import { patched, startChild, type ChildWorkflowHandle } from '@temporalio/workflow';
import type { SynthesisInput, SynthesisResult } from '../common/types';
import type { ActivityTuning } from './activity-proxies';
import { synthesisLimitsSignal, synthesisWorkflow } from './synthesis-workflow';

/** Histories from before this change never signalled their synthesis child. */
const FORWARD_PATCH = 'synthesis-child-limits';

export interface SynthesisLink {
  handle: ChildWorkflowHandle<typeof synthesisWorkflow> | null;
  /** the child's budget at start and the migration's budget it was derived from */
  childBudgetUsd: number;
  maxUsdAtStart: number;
  stopForwarded: boolean;
}

export function newSynthesisLink(): SynthesisLink {
  return { handle: null, childBudgetUsd: 0, maxUsdAtStart: 0, stopForwarded: false };
}

/** From the migration's setBudget handler: the child's budget moves by the same amount. */
export function forwardBudget(link: SynthesisLink, maxUsd: number): void {
  if (!link.handle || !patched(FORWARD_PATCH)) return;
  const budgetUsd = Math.max(0, link.childBudgetUsd + (maxUsd - link.maxUsdAtStart));
  void link.handle.signal(synthesisLimitsSignal, { budgetUsd }).catch(() => undefined); // child may have closed
}

/** From the migration's stop signal handler: the child launches no more shards. */
export function forwardStop(link: SynthesisLink): void {
  if (!link.handle || link.stopForwarded || !patched(FORWARD_PATCH)) return;
  link.stopForwarded = true;
  void link.handle.signal(synthesisLimitsSignal, { stop: true }).catch(() => undefined);
}

/** Whether a stop that arrived during synthesis ends the migration now (older histories continued). */
export function stopAfterSynthesis(stopRequested: boolean): boolean {
  return stopRequested && patched(FORWARD_PATCH);
}

/** Runs the child (same commands as executeChild) with `link` set while it runs. */
export async function runSynthesisChild(
  link: SynthesisLink,
  opts: { workflowId: string; staticSummary: string; input: SynthesisInput; tuning: ActivityTuning },
  maxUsd: number,
  stopRequested: () => boolean = () => false,
  currentMaxUsd: () => number = () => maxUsd,
): Promise<SynthesisResult> {
  const handle = await startChild(synthesisWorkflow, {
    workflowId: opts.workflowId,
    args: [opts.input, opts.tuning],
    staticSummary: opts.staticSummary,
  });
  link.handle = handle;
  link.childBudgetUsd = opts.input.budgetUsd;
  link.maxUsdAtStart = maxUsd;
  link.stopForwarded = false;
  // arrived while the child was starting, when the link had no handle yet
  if (stopRequested()) forwardStop(link);
  if (currentMaxUsd() !== maxUsd) forwardBudget(link, currentMaxUsd());
  try {
    return await handle.result();
  } finally {
    link.handle = null;
  }
}
