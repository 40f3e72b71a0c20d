// The Temporal activity context when there is one: the same code runs inside a worker and in plain unit tests.
import { Context } from '@temporalio/activity';

export function currentActivity(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined; // not running as an activity (plain unit test or script)
  }
}
