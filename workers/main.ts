// Worker entry point: `npm run worker` locally, the container command in k8s/worker-deployment.yaml.
// Serves the queues in LLAMADUO_QUEUES; SIGTERM (a node drain, a rollout) starts a graceful shutdown: no new
// tasks are taken, running activities get the grace time, and anything unfinished is retried elsewhere.
import { readFileSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';
import { Client } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { startGpuReaper } from '../activities/gpu/reaper';
import { dataConverterFromEnv } from '../activities/codec/data-converter';
import { closeLimiters } from '../activities/llm/limiters-from-env';
import { createActivities } from './activities';
import { createWorkers, runWorkers } from './create-workers';
import { startHealthServer } from './health-server';
import { readWorkerEnv } from './worker-config';

const env = readWorkerEnv();
Runtime.install({ logger: new DefaultLogger(env.LLAMADUO_LOG_LEVEL) });

const connection = await NativeConnection.connect({
  address: env.TEMPORAL_ADDRESS,
  tls:
    env.TEMPORAL_TLS_CERT && env.TEMPORAL_TLS_KEY
      ? {
          clientCertPair: {
            crt: readFileSync(env.TEMPORAL_TLS_CERT),
            key: readFileSync(env.TEMPORAL_TLS_KEY),
          },
        }
      : undefined,
});
const workers = await createWorkers({
  connection,
  namespace: env.TEMPORAL_NAMESPACE,
  queues: env.LLAMADUO_QUEUES,
  activities: createActivities(env),
  dataConverter: dataConverterFromEnv(),
  concurrency: { llm: env.LLAMADUO_LLM_CONCURRENCY, gpu: env.LLAMADUO_GPU_CONCURRENCY },
});
console.log(
  `llamaduo worker: ${env.LLAMADUO_QUEUES.join(', ')} on ${env.TEMPORAL_ADDRESS}/${env.TEMPORAL_NAMESPACE}`,
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
        log: (m) => console.log(m),
      })
    : null;
const health = env.LLAMADUO_HEALTH_PORT ? startHealthServer(workers, env.LLAMADUO_HEALTH_PORT) : null;
try {
  await runWorkers(workers);
} finally {
  health?.close();
  await closeLimiters();
  await reaper?.stop();
  await connection.close();
}
