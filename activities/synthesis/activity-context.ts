// The Temporal activity context when running inside an activity, or null (unit tests, scripts), so
// activity code can heartbeat and observe cancellation without requiring a worker.
import { Context } from '@temporalio/activity';

export function currentActivity(): Context | null {
  try {
    return Context.current();
  } catch {
    return null;
  }
}

export function heartbeat(details: unknown): void {
  currentActivity()?.heartbeat(details);
}
