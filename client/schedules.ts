// Scheduled re-migrations (Temporal Schedules): each run ingests the coverage file as it is then, and with
// `promotion` set in the config promotes its adapter only if it beats the promoted one on the same split.
import {
  ScheduleOverlapPolicy,
  type Client,
  type ScheduleDescription,
  type ScheduleSummary,
} from '@temporalio/client';
import { TASK_QUEUES } from '../common/activities';
import type { MigrationConfig, MigrationConfigInput } from '../common/config';
import { migrationWorkflow } from '../workflows/migration-workflow';
import { validateConfig } from './migrations';

export interface ScheduleOptions {
  scheduleId: string;
  /** cron expressions (e.g. "0 3 * * 1") ... */
  cron?: string[];
  /** ... or an interval like "7d", "12h" */
  every?: string;
  /** how far back missed runs are caught up after an outage (default 1 day) */
  catchupWindow?: string;
  paused?: boolean;
  note?: string;
}

export async function createSchedule(
  client: Client,
  config: MigrationConfig | MigrationConfigInput,
  opts: ScheduleOptions,
) {
  const parsed = validateConfig(config);
  if (!opts.cron?.length && !opts.every) throw new Error('a schedule needs cron expressions or an interval');
  return client.schedule.create({
    scheduleId: opts.scheduleId,
    spec: {
      cronExpressions: opts.cron,
      intervals: opts.every ? [{ every: opts.every as never }] : undefined,
    },
    action: {
      type: 'startWorkflow',
      workflowType: migrationWorkflow,
      // no migrationId: each run uses its own workflow id (schedule id + time) as artifact prefix
      args: [{ config: parsed }],
      taskQueue: TASK_QUEUES.workflow,
      workflowId: `llamaduo-${opts.scheduleId}`,
    },
    policies: {
      // a re-migration still running when the next one is due: skip the new one
      overlap: ScheduleOverlapPolicy.SKIP,
      catchupWindow: (opts.catchupWindow ?? '1d') as never,
    },
    state: { paused: opts.paused ?? false, note: opts.note },
    memo: { name: parsed.name, baseModel: parsed.baseModel },
  });
}

export async function listSchedules(client: Client): Promise<ScheduleSummary[]> {
  const out: ScheduleSummary[] = [];
  for await (const s of client.schedule.list()) out.push(s);
  return out;
}

export async function describeSchedule(client: Client, scheduleId: string): Promise<ScheduleDescription> {
  return client.schedule.getHandle(scheduleId).describe();
}

export async function deleteSchedule(client: Client, scheduleId: string): Promise<void> {
  await client.schedule.getHandle(scheduleId).delete();
}

export async function pauseSchedule(client: Client, scheduleId: string, note?: string): Promise<void> {
  await client.schedule.getHandle(scheduleId).pause(note);
}

export async function resumeSchedule(client: Client, scheduleId: string, note?: string): Promise<void> {
  await client.schedule.getHandle(scheduleId).unpause(note);
}

/**
 * Starts a run now under the schedule's own overlap policy (SKIP: not while a run is still going). The SDK's
 * trigger() defaults to ALLOW_ALL, which would let a manual run race the scheduled one on a channel.
 */
export async function triggerSchedule(client: Client, scheduleId: string): Promise<void> {
  const handle = client.schedule.getHandle(scheduleId);
  const { policies } = await handle.describe();
  await handle.trigger(policies.overlap);
}
