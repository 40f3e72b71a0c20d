// Whether a batch activity that was interrupted should cancel its provider batch.
import type { Context } from '@temporalio/activity';
import { WorkflowNotFoundError } from '@temporalio/client';

/**
 * Whether an aborted attempt ends for good (cancel requested, reset, or its workflow closed), so its provider
 * batch should be cancelled; a worker shutting down, or a stale attempt whose successor runs, leaves it.
 */
export async function runEnded(ctx: Context): Promise<boolean> {
  const d = ctx.cancellationDetails;
  if (d?.cancelRequested || d?.reset) return true;
  if (!d?.notFound) return false;
  const workflowId = ctx.info.workflowExecution?.workflowId;
  if (!workflowId) return false;
  try {
    return (await ctx.client.workflow.getHandle(workflowId).describe()).status.name !== 'RUNNING';
  } catch (err) {
    return err instanceof WorkflowNotFoundError;
  }
}
