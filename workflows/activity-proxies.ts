// Activity stubs per task queue, with the timeouts and retry rules each kind of work needs.
// Every long activity heartbeats, so a crashed worker is noticed within the heartbeat timeout.
import { ActivityCancellationType, patched, proxyActivities } from '@temporalio/workflow';
import {
  TASK_QUEUES,
  type DataActivities,
  type GpuActivities,
  type LlmActivities,
} from '../common/activities';

/** Failures that retrying cannot fix. */
const NON_RETRYABLE = [
  'InvalidDataset',
  'InvalidConfig',
  'InvalidSpec',
  'BudgetExceeded',
  'MissingCredentials',
];

export interface ActivityTuning {
  /** default 60s; tests use a few seconds so killed workers are noticed fast */
  heartbeatTimeout?: string;
  /**
   * How long the cleanup after a failure or cancel waits for a GPU worker to pick up the deletion of the
   * migration's GPU work before leaving it to the reaper; default 2m.
   */
  cleanupScheduleToStart?: string;
  /**
   * How long a GPU step waits for a GPU worker to pick it up before the migration fails saying so (no GPU
   * worker deployed, all of them down); default 6h, for pools that scale up from zero.
   */
  gpuScheduleToStart?: string;
}

export function activityProxies(tuning: ActivityTuning = {}) {
  const heartbeatTimeout = tuning.heartbeatTimeout ?? '60s';
  const retry = {
    initialInterval: '1s',
    backoffCoefficient: 2,
    maximumInterval: '1m',
    nonRetryableErrorTypes: NON_RETRYABLE,
  };
  const data = proxyActivities<DataActivities>({
    taskQueue: TASK_QUEUES.data,
    startToCloseTimeout: '2h',
    heartbeatTimeout,
    retry,
  });
  // Bounded attempts: failures that do not go away (an account out of quota is also non-retryable)
  // end the migration instead of retrying forever; kills and heartbeat timeouts fit well within.
  const llmRetry = { ...retry, maximumAttempts: 10 };
  // A cancelled LLM activity is waited for: it stops its calls and reports what it paid (a synthesis shard
  // ends with the samples paid for), which a workflow that moved on at once would never count.
  const llmCancellation = patched('llm-wait-cancellation')
    ? ActivityCancellationType.WAIT_CANCELLATION_COMPLETED
    : ActivityCancellationType.TRY_CANCEL;
  const llm = proxyActivities<LlmActivities>({
    taskQueue: TASK_QUEUES.llm,
    startToCloseTimeout: '6h',
    heartbeatTimeout,
    retry: llmRetry,
    cancellationType: llmCancellation,
  });
  // Work through a provider's batch API: up to 24 h in the provider's queue, polled by a heartbeating activity.
  const llmBatch = proxyActivities<LlmActivities>({
    taskQueue: TASK_QUEUES.llm,
    startToCloseTimeout: '26h',
    heartbeatTimeout,
    retry: llmRetry,
    cancellationType: llmCancellation,
  });
  // Without a bound, a step nobody picks up (no GPU worker) leaves the migration running forever at that
  // stage. Histories from before the bound waited without one.
  const gpuStartBound = patched('gpu-schedule-to-start')
    ? { scheduleToStartTimeout: tuning.gpuScheduleToStart ?? '6h' }
    : {};
  const gpu = proxyActivities<GpuActivities>({
    taskQueue: TASK_QUEUES.gpu,
    ...gpuStartBound,
    // A cancelled migration waits until the GPU activity has deleted its Job (or process) and says so; with
    // TRY_CANCEL the workflow would close first and the Job keep its GPU until activeDeadlineSeconds.
    cancellationType: patched('gpu-wait-cancellation')
      ? ActivityCancellationType.WAIT_CANCELLATION_COMPLETED
      : ActivityCancellationType.TRY_CANCEL,
    // A fine-tune of 256k samples takes about an hour on one GPU (paper); queueing for a GPU may add more.
    startToCloseTimeout: '24h',
    heartbeatTimeout,
    // Attempts also end when a worker dies (heartbeat timeout) while the Job runs on, adopted by the next
    // attempt: those must not fail the step. The activity counts the step's own failures and stops retrying
    // after a few (activities/gpu/step-failures.ts); the attempt limit only ends a worker crash loop.
    retry: { ...retry, maximumAttempts: patched('gpu-attempts-beyond-worker-crashes') ? 100 : 5 },
  });
  return { data, llm, llmBatch, gpu };
}

/**
 * For the cleanup after a failure or cancel: bounded, so a migration whose GPU worker is gone still closes
 * (the reaper deletes what is left). With every GPU worker gone, the deletion is given up once no worker has
 * picked it up within `cleanupScheduleToStart` (histories from before that bound waited the whole 10 min).
 */
export function cleanupProxies(tuning: ActivityTuning = {}) {
  const bounded = {
    scheduleToCloseTimeout: '10m',
    startToCloseTimeout: '2m',
    retry: { initialInterval: '1s', maximumInterval: '30s', nonRetryableErrorTypes: NON_RETRYABLE },
  };
  const startBound = patched('cleanup-schedule-to-start')
    ? { scheduleToStartTimeout: tuning.cleanupScheduleToStart ?? '2m' }
    : {};
  const { deleteGpuWork } = proxyActivities<GpuActivities>({
    taskQueue: TASK_QUEUES.gpu,
    ...bounded,
    ...startBound,
  });
  const { writeReport } = proxyActivities<DataActivities>({ taskQueue: TASK_QUEUES.data, ...bounded });
  return { deleteGpuWork, writeReport };
}
