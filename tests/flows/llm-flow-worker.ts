// A worker process for the LLM-money flow tests: every queue, the real activities (workers/activities.ts:
// local GPU backend, provider clients from the environment), the prebuilt workflow bundle. The test starts it
// as a child process so it can SIGKILL it mid-activity.
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { createActivities } from '../../workers/activities';
import { createWorkers, runWorkers } from '../../workers/create-workers';
import { readWorkerEnv } from '../../workers/worker-config';

const env = readWorkerEnv();
Runtime.install({ logger: new DefaultLogger('ERROR') });
const connection = await NativeConnection.connect({ address: env.TEMPORAL_ADDRESS });
const workers = await createWorkers({
  connection,
  namespace: env.TEMPORAL_NAMESPACE,
  queues: env.LLAMADUO_QUEUES,
  activities: createActivities(env),
  workflowBundle: { codePath: process.env.WORKFLOW_BUNDLE! },
  concurrency: { llm: env.LLAMADUO_LLM_CONCURRENCY, gpu: env.LLAMADUO_GPU_CONCURRENCY },
  shutdownGraceTime: '1s',
});
process.send?.('ready');
await runWorkers(workers);
await connection.close();
