// A real Temporal dev server for tests (the temporal CLI built by scripts/setup.sh), with llamaduo's
// search attributes, and one workflow bundle shared by every worker a test file creates.
import { TestWorkflowEnvironment } from '@temporalio/testing';
import {
  bundleWorkflowCode,
  DefaultLogger,
  Runtime,
  type WorkflowBundleWithSourceMap,
} from '@temporalio/worker';
import { temporalCliPath } from '../../client/dev-server';
import type { AllActivities, QueueName } from '../../common/activities';
import { createWorkers, WORKFLOWS_PATH } from '../../workers/create-workers';
import {
  SA_BASE_MODEL,
  SA_BEST_SCORE,
  SA_CYCLE,
  SA_STATUS,
  SA_TEACHER,
} from '../../workflows/search-attributes';

let runtimeInstalled = false;

/** `namespaces`: Temporal namespaces to register besides `default` */
export async function startTestEnv(opts: { namespaces?: string[] } = {}): Promise<TestWorkflowEnvironment> {
  if (!runtimeInstalled) {
    Runtime.install({ logger: new DefaultLogger('WARN') });
    runtimeInstalled = true;
  }
  return TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: temporalCliPath() },
      ip: '127.0.0.1',
      searchAttributes: [SA_STATUS, SA_CYCLE, SA_BEST_SCORE, SA_BASE_MODEL, SA_TEACHER],
      extraArgs: ['--log-level', 'error', ...(opts.namespaces ?? []).flatMap((n) => ['--namespace', n])],
    },
  });
}

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quietLogger });
  return bundle;
}

const noop = () => undefined;
const quietLogger = { trace: noop, debug: noop, info: noop, warn: noop, error: console.error, log: noop };

/**
 * Runs llamaduo's workers for `queues` (all four by default) on the test server with the shared bundle; the
 * returned function shuts them down and waits until they have stopped.
 */
export async function runTestWorkers(
  env: TestWorkflowEnvironment,
  activities: Partial<AllActivities>,
  queues: readonly QueueName[] = ['workflow', 'data', 'llm', 'gpu'],
): Promise<() => Promise<void>> {
  const workers = await createWorkers({
    connection: env.nativeConnection,
    namespace: env.namespace ?? 'default',
    queues: [...queues],
    activities,
    workflowBundle: await workflowBundle(),
    shutdownGraceTime: '1s',
  });
  const running = Promise.all(workers.map((w) => w.run()));
  return async () => {
    for (const w of workers) w.shutdown();
    await running;
  };
}
