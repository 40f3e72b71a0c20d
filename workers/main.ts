// Worker entry point: `npm run worker` locally; in the image, dist/main.js (scripts/build-worker-dist.sh),
// run by the Deployments in k8s/base/deployment-<role>.yaml.
// Serves the queues in LLAMADUO_QUEUES; SIGTERM (a node drain, a rollout) starts a graceful shutdown: no new
// tasks are taken, running activities get the grace time, and anything unfinished is retried elsewhere.
import { KubeConfig } from '@kubernetes/client-node';
import { Client } from '@temporalio/client';
import { NativeConnection, Runtime } from '@temporalio/worker';
import { startGpuReaper } from '../activities/gpu/reaper';
import { describeConnection, temporalConnectionSettings } from '../common/temporal-connection';
import { dataConverterFromEnv } from '../activities/codec/data-converter';
import { closeLimiters } from '../activities/llm/limiters-from-env';
import { createActivities } from './activities';
import { createWorkers, runWorkers } from './create-workers';
import { startHealthServer } from './health-server';
import { setUpWorkerObservability } from './observability/worker-observability';
import { readWorkerEnv } from './worker-config';
import { prebuiltWorkflowBundle } from './workflow-bundle';

const env = readWorkerEnv();
const observability = await setUpWorkerObservability({
  logLevel: env.LLAMADUO_LOG_LEVEL,
  metricsPort: env.LLAMADUO_METRICS_PORT,
});

const settings = temporalConnectionSettings(env.TEMPORAL_ADDRESS);
const connection = await NativeConnection.connect(settings);
const servesWorkflows = env.LLAMADUO_QUEUES.includes('workflow');
const bundle = servesWorkflows ? prebuiltWorkflowBundle(env.LLAMADUO_WORKFLOW_BUNDLE) : undefined;
const workers = await createWorkers({
  connection,
  namespace: env.TEMPORAL_NAMESPACE,
  queues: env.LLAMADUO_QUEUES,
  activities: createActivities(env, process.env, observability.metrics),
  ...observability.workerOptions,
  dataConverter: dataConverterFromEnv(),
  workflowBundle: bundle,
  concurrency: {
    llm: env.LLAMADUO_LLM_CONCURRENCY,
    gpu: env.LLAMADUO_GPU_CONCURRENCY,
    data: env.LLAMADUO_DATA_CONCURRENCY,
  },
});
Runtime.instance().logger.info(
  `llamaduo worker: ${env.LLAMADUO_QUEUES.join(', ')} on ${env.TEMPORAL_ADDRESS}/${env.TEMPORAL_NAMESPACE}` +
    ` (${describeConnection(settings)}` +
    (servesWorkflows ? `; workflows ${bundle ? `from ${bundle.codePath}` : 'bundled at start'})` : ')'),
);
const reaper =
  env.LLAMADUO_QUEUES.includes('gpu') && env.LLAMADUO_REAPER_NAMESPACES.length
    ? startGpuReaper({
        kubeConfig: (() => {
          const kc = new KubeConfig();
          kc.loadFromDefault();
          return kc;
        })(),
        client: new Client({ connection, namespace: env.TEMPORAL_NAMESPACE }),
        clients: env.LLAMADUO_REAPER_TEMPORAL_NAMESPACES.map(
          (namespace) => new Client({ connection, namespace }),
        ),
        namespaces: env.LLAMADUO_REAPER_NAMESPACES,
        periodMs: env.LLAMADUO_REAPER_PERIOD_S * 1000,
        log: (m) => Runtime.instance().logger.info(m),
      })
    : null;
const health = env.LLAMADUO_HEALTH_PORT ? startHealthServer(workers, env.LLAMADUO_HEALTH_PORT) : null;
try {
  await runWorkers(workers);
} finally {
  health?.close();
  await observability.close();
  await closeLimiters();
  await reaper?.stop();
  await connection.close();
}
