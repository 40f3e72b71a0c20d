// Heartbeats on a timer for the data activities that do not heartbeat themselves (ingest, plans, summaries,
// the report). The workflow gives every data activity a heartbeat timeout so a lost worker is noticed; without
// beats, an ingest of a large dataset that outlasts that timeout is retried while it still runs, and each
// retry times out the same way, with two attempts writing the same outputs meanwhile.
import { Context } from '@temporalio/activity';

export function heartbeatWhileRunning<A extends unknown[], R>(
  fn: (...args: A) => Promise<R>,
): (...args: A) => Promise<R> {
  return async (...args: A) => {
    let ctx: Context;
    try {
      ctx = Context.current();
    } catch {
      return fn(...args); // called outside an activity (a test driving it directly): nothing to beat
    }
    const everyMs = Math.max(200, Math.min(5000, (ctx.info.heartbeatTimeoutMs || 15_000) / 3));
    ctx.heartbeat();
    const timer = setInterval(() => ctx.heartbeat(), everyMs);
    try {
      return await fn(...args);
    } finally {
      clearInterval(timer);
    }
  };
}
