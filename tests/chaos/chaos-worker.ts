// A worker process serving every queue with the real activities, started by the chaos run as a child process
// and SIGKILLed at will. Same as workers/main.ts except that the local GPU backend runs the trainer through
// trainer-wrapper.sh (the ledger and the injected preemption). Config comes from the environment.
import { appendFileSync } from 'node:fs';
import path from 'node:path';
import { Context } from '@temporalio/activity';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { createGpuActivities } from '../../activities/gpu/activities';
import { createLocalBackend } from '../../activities/gpu/local-backend';
import { LocalArtifactStore } from '../../activities/store/local-store';
import { createActivities } from '../../workers/activities';
import { createWorkers, runWorkers } from '../../workers/create-workers';
import { readWorkerEnv } from '../../workers/worker-config';
import { ATTEMPT_HEADER, attemptHeader, type AttemptTag } from './lost-calls';

const env = readWorkerEnv();

// Observation only: every finished artifact write is appended to $CHAOS_WRITES, so the run can count how
// often each output was produced across all worker processes (the store's atomic rename is the commit point).
const write = LocalArtifactStore.prototype.write;
LocalArtifactStore.prototype.write = async function (this: LocalArtifactStore, key, chunks, count) {
  const ref = await write.call(this, key, chunks, count);
  appendFileSync(
    process.env.CHAOS_WRITES!,
    JSON.stringify({ key, sha256: ref.sha256, pid: process.pid }) + '\n',
  );
  return ref;
};
// Observation only: every HTTP request an activity sends names its attempt in ATTEMPT_HEADER, so the run can
// tell the provider calls of attempts that died from those of the attempt that closed the activity. The
// provider SDKs read the global fetch when their clients are made, after this.
const untaggedFetch = globalThis.fetch;
globalThis.fetch = (input, init) => {
  let tag: AttemptTag | undefined;
  try {
    const { workflowExecution: wf, activityId, attempt } = Context.current().info;
    if (wf) tag = { workflowId: wf.workflowId, runId: wf.runId, activityId, attempt };
  } catch {
    // not inside an activity
  }
  if (!tag) return untaggedFetch(input, init);
  const headers = new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined));
  headers.set(ATTEMPT_HEADER, attemptHeader(tag));
  return untaggedFetch(input, { ...init, headers });
};
Runtime.install({ logger: new DefaultLogger('ERROR') });
const repo = path.resolve(import.meta.dirname, '..', '..');
const store = new LocalArtifactStore(env.LLAMADUO_ARTIFACTS);
const gpu = createGpuActivities({
  store,
  backendFor: (config) => {
    if (config.kind !== 'local') throw new Error('the chaos run uses the local GPU backend');
    return createLocalBackend({
      store,
      config,
      command: [path.join(import.meta.dirname, 'trainer-wrapper.sh')],
      env: { PYTHONPATH: path.join(repo, 'k8s', 'trainer') },
      pollIntervalMs: 500,
    });
  },
});
const connection = await NativeConnection.connect({ address: env.TEMPORAL_ADDRESS });
const workers = await createWorkers({
  connection,
  namespace: env.TEMPORAL_NAMESPACE,
  queues: env.LLAMADUO_QUEUES,
  activities: { ...createActivities(env), ...gpu },
  workflowBundle: { codePath: process.env.WORKFLOW_BUNDLE! },
  concurrency: { llm: env.LLAMADUO_LLM_CONCURRENCY, gpu: env.LLAMADUO_GPU_CONCURRENCY },
  shutdownGraceTime: '1s',
});
process.send?.('ready');
await runWorkers(workers);
await connection.close();
