// Builds one Temporal Worker per task queue this process serves, all on one connection.
// GPU-waiting, LLM-calling and data activities have their own queues so each can be scaled apart.
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { TASK_QUEUES, type AllActivities, type QueueName } from '../common/activities';

export const WORKFLOWS_PATH = new URL('../workflows/index.ts', import.meta.url).pathname;

const QUEUE_ACTIVITIES: Record<Exclude<QueueName, 'workflow'>, (keyof AllActivities)[]> = {
  data: [
    'ingestCoverage',
    'planSynthesis',
    'curateSynthesis',
    'planEvaluation',
    'summarizeEvaluation',
    'readPromoted',
    'promote',
    'writeReport',
  ],
  llm: ['teacherBaseline', 'synthesizeShard', 'judgeShard'],
  gpu: ['fineTune', 'generate', 'exportAdapter', 'deleteGpuWork'],
};

/**
 * A cancel reaches an activity only in the answer to a heartbeat the worker actually sends, and the SDK sends at
 * most one per 0.8 x heartbeat timeout (48 s with the workflow's default 60 s). GPU and LLM activities heartbeat
 * every few seconds; sending those beats this often lets a cancelled migration delete its Job (and stop paying
 * for teacher calls) within seconds instead of most of a minute.
 */
export const ACTIVITY_HEARTBEAT_THROTTLE = '3s';

/** Options of the worker of one activity queue (everything but the connection and interceptors). */
export function activityWorkerOptions(
  queue: Exclude<QueueName, 'workflow'>,
  concurrency?: number,
): Pick<WorkerOptions, 'taskQueue' | 'maxConcurrentActivityTaskExecutions' | 'maxHeartbeatThrottleInterval'> {
  return {
    taskQueue: TASK_QUEUES[queue],
    maxConcurrentActivityTaskExecutions: concurrency ?? (queue === 'llm' ? 8 : 4),
    maxHeartbeatThrottleInterval: ACTIVITY_HEARTBEAT_THROTTLE,
  };
}

export interface WorkerSetup {
  connection: NativeConnection;
  /** payload encryption (activities/codec); the same as the clients' */
  dataConverter?: WorkerOptions['dataConverter'];
  namespace: string;
  queues: QueueName[];
  activities: Partial<AllActivities>;
  /** a prebuilt bundle (tests share one); otherwise workflows are bundled from WORKFLOWS_PATH */
  workflowBundle?: WorkerOptions['workflowBundle'];
  /** concurrent activities per queue */
  concurrency?: Partial<Record<QueueName, number>>;
  shutdownGraceTime?: WorkerOptions['shutdownGraceTime'];
  /** observability: activity interceptors (scope, log attributes), workflow interceptor modules */
  interceptors?: WorkerOptions['interceptors'];
  /** e.g. the OpenTelemetry plugin (workers/observability/tracing.ts) */
  plugins?: WorkerOptions['plugins'];
}

export async function createWorkers(setup: WorkerSetup): Promise<Worker[]> {
  const workers: Worker[] = [];
  for (const queue of setup.queues) {
    const common = {
      connection: setup.connection,
      namespace: setup.namespace,
      taskQueue: TASK_QUEUES[queue],
      shutdownGraceTime: setup.shutdownGraceTime ?? '30s',
      dataConverter: setup.dataConverter,
      interceptors: setup.interceptors,
      plugins: setup.plugins,
    };
    if (queue === 'workflow') {
      workers.push(
        await Worker.create({
          ...common,
          // a prebuilt bundle already holds the workflow interceptor modules (scripts/build-workflow-bundle.ts)
          ...(setup.workflowBundle
            ? {
                workflowBundle: setup.workflowBundle,
                interceptors: { ...setup.interceptors, workflowModules: undefined },
              }
            : { workflowsPath: WORKFLOWS_PATH }),
        }),
      );
      continue;
    }
    const names = QUEUE_ACTIVITIES[queue];
    const missing = names.filter((n) => typeof setup.activities[n] !== 'function');
    if (missing.length)
      throw new Error(`queue ${queue}: no implementation for activities ${missing.join(', ')}`);
    const activities = Object.fromEntries(names.map((n) => [n, setup.activities[n]]));
    workers.push(
      await Worker.create({
        ...common,
        activities,
        ...activityWorkerOptions(queue, setup.concurrency?.[queue]),
      }),
    );
  }
  return workers;
}

/** Runs workers until shutdown (SIGINT/SIGTERM start a graceful shutdown via the SDK's Runtime). */
export async function runWorkers(workers: Worker[]): Promise<void> {
  await Promise.all(workers.map((w) => w.run()));
}
