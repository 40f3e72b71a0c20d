// A worker process serving every queue with the test activities; the durability and history runs start it
// as a child process and SIGKILL it at will. Config comes from the environment.
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { LocalArtifactStore } from '../../activities/store/local-store';
import { createWorkers, runWorkers } from '../../workers/create-workers';
import { createFakeActivities } from '../fakes/fake-activities';

const env = (name: string) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};

Runtime.install({ logger: new DefaultLogger('WARN') });
const connection = await NativeConnection.connect({ address: env('TEMPORAL_ADDRESS') });
const activities = createFakeActivities({
  store: new LocalArtifactStore(env('ARTIFACTS')),
  ledger: env('LEDGER'),
  gpuMs: Number(process.env.GPU_MS ?? 500),
  shardMs: Number(process.env.SHARD_MS ?? 100),
  materialize: process.env.MATERIALIZE !== '0',
});
const workers = await createWorkers({
  connection,
  namespace: 'default',
  queues: ['workflow', 'data', 'llm', 'gpu'],
  activities,
  workflowBundle: { codePath: env('WORKFLOW_BUNDLE') },
  shutdownGraceTime: '1s',
});
process.send?.('ready');
await runWorkers(workers);
await connection.close();
