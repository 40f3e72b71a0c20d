// What each kill interrupted. Just before a kill the run asks the dev server which activity attempts are
// running (describe of every open execution: PENDING_ACTIVITY_STATE_STARTED); after the migrations ended,
// the history of each execution says whether that attempt really died: its activity completed with a higher
// attempt number (the killed attempt timed out on its heartbeat and was retried).
import type { Client } from '@temporalio/client';
import proto, { type temporal as TemporalProto } from '@temporalio/proto';

const { temporal } = proto;

const STARTED = temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED;
const EventType = temporal.api.enums.v1.EventType;

export const QUEUE_OF: Record<string, 'gpu' | 'llm' | 'data'> = {
  fineTune: 'gpu',
  generate: 'gpu',
  deleteGpuWork: 'gpu',
  teacherBaseline: 'llm',
  synthesizeShard: 'llm',
  judgeShard: 'llm',
};
export const queueOf = (type: string) => QUEUE_OF[type] ?? 'data';

export interface RunningAttempt {
  workflowId: string;
  runId: string;
  activityId: string;
  type: string;
  attempt: number;
}

/** Every activity attempt a worker is running now, across all open executions (children included). */
export async function runningAttempts(client: Client): Promise<RunningAttempt[]> {
  const out: RunningAttempt[] = [];
  for await (const exec of client.workflow.list({ query: 'ExecutionStatus="Running"' })) {
    const d = await client.workflow
      .getHandle(exec.workflowId, exec.runId)
      .describe()
      .catch(() => null);
    for (const p of d?.raw.pendingActivities ?? []) {
      if (p.state !== STARTED) continue;
      out.push({
        workflowId: exec.workflowId,
        runId: exec.runId,
        activityId: p.activityId ?? '',
        type: p.activityType?.name ?? '?',
        attempt: p.attempt ?? 1,
      });
    }
  }
  return out;
}

export interface KillRecord {
  at: number;
  running: RunningAttempt[];
}

export interface ActivityClosing {
  /** the attempt that closed it (its ActivityTaskStarted, written when the activity closes) */
  attempt: number;
  /** closed by a timeout: no attempt delivered a result or a failure, the last one only went silent */
  timedOut: boolean;
}

/** How each activity of an execution closed: its last attempt, and whether it timed out. */
export async function activityClosings(
  client: Client,
  workflowId: string,
  runId: string,
): Promise<Map<string, ActivityClosing>> {
  const { events } = await client.workflow.getHandle(workflowId, runId).fetchHistory();
  return closingsInHistory(events ?? []);
}

/** How each activity closed, from a history's events (by activity id). */
export function closingsInHistory(
  events: readonly TemporalProto.api.history.v1.IHistoryEvent[],
): Map<string, ActivityClosing> {
  const idOf = new Map<string, string>();
  const closings = new Map<string, ActivityClosing>();
  for (const e of events) {
    if (e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)
      idOf.set(String(e.eventId), e.activityTaskScheduledEventAttributes?.activityId ?? '');
    if (e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED) {
      const a = e.activityTaskStartedEventAttributes!;
      closings.set(idOf.get(String(a.scheduledEventId)) ?? '', { attempt: a.attempt ?? 1, timedOut: false });
    }
    if (e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT) {
      const id = idOf.get(String(e.activityTaskTimedOutEventAttributes?.scheduledEventId));
      const closing = closings.get(id ?? '');
      if (closing) closing.timedOut = true;
    }
  }
  return closings;
}

/** The attempt number each activity of an execution finally ran with. */
async function finalAttempts(
  client: Client,
  workflowId: string,
  runId: string,
): Promise<Map<string, number>> {
  const closings = await activityClosings(client, workflowId, runId);
  return new Map([...closings].map(([id, c]) => [id, c.attempt]));
}

export interface Interrupted {
  /** kills that interrupted at least one attempt */
  effective: number;
  /** interrupted attempts by activity type */
  byType: Record<string, number>;
  /** per kill: the activity types it interrupted */
  perKill: string[][];
}

/** Confirms from the histories which attempts running at each kill were lost and retried. */
export async function interruptedByKills(client: Client, kills: KillRecord[]): Promise<Interrupted> {
  const cache = new Map<string, Map<string, number>>();
  const byType: Record<string, number> = {};
  const perKill: string[][] = [];
  for (const k of kills) {
    const types: string[] = [];
    for (const r of k.running) {
      const key = `${r.workflowId}@${r.runId}`;
      if (!cache.has(key)) cache.set(key, await finalAttempts(client, r.workflowId, r.runId));
      const final = cache.get(key)!.get(r.activityId);
      if (final !== undefined && final > r.attempt) {
        types.push(r.type);
        byType[r.type] = (byType[r.type] ?? 0) + 1;
      }
    }
    perKill.push(types);
  }
  return { effective: perKill.filter((t) => t.length > 0).length, byType, perKill };
}
