// Flows: a migration's GPU Job is freed on cancel and on terminate. A whole migration on a real dev server
// with the real activities (local provider server as teacher and judge), its GPU steps as Kubernetes Jobs on
// this API server, as the worker ServiceAccount; kwok plays the pods (trainer:hang runs until deleted).
//   - cancel: the GPU activity deletes its Job at the cancel, the workflow's cleanup deletes the
//     migration's Jobs by label, status `cancelled` and a report.
//   - terminate: no workflow code runs; the GPU activity's next heartbeat finds the workflow gone and
//     deletes its Job.
//   - terminate with the GPU worker gone: no activity is left to notice, so the reaper
//     (activities/gpu/reaper.ts) deletes the Job within its period; a running migration's Job stays.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { WorkflowFailedError } from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import { createGpuActivities } from '../../activities/gpu/activities';
import type { KubernetesGpuConfig } from '../../activities/gpu/job-manifest';
import { createKubernetesBackend } from '../../activities/gpu/kubernetes-backend';
import { startGpuReaper } from '../../activities/gpu/reaper';
import { TASK_QUEUES } from '../../common/activities';
import { createWorkers } from '../../workers/create-workers';
import { migrationWorkflow } from '../../workflows/migration-workflow';
import { progressQuery } from '../../workflows/messages';
import { SA_STATUS } from '../../workflows/search-attributes';
import { workflowBundle } from '../helpers/temporal-env';
import { startFlowEnv, type FlowEnv } from '../flows/harness';
import { adminKubeConfig, gpuConfig, NAMESPACE, workerKubeConfig } from './env';
import { waitFor } from './helpers';

const REAPER_PERIOD_MS = 5000;

async function jobsOf(migrationId: string): Promise<k8s.V1Job[]> {
  const batch = adminKubeConfig().makeApiClient(k8s.BatchV1Api);
  const list = await batch.listNamespacedJob({
    namespace: NAMESPACE,
    labelSelector: `llamaduo.dev/migration=${migrationId}`,
  });
  return list.items;
}

async function podsOf(migrationId: string): Promise<k8s.V1Pod[]> {
  const core = adminKubeConfig().makeApiClient(k8s.CoreV1Api);
  const list = await core.listNamespacedPod({
    namespace: NAMESPACE,
    labelSelector: `llamaduo.dev/migration=${migrationId}`,
  });
  return list.items;
}

describe('flows on Kubernetes: cancel and terminate free the GPU (real activities, real API server)', () => {
  let flow: FlowEnv;
  let kc: k8s.KubeConfig;
  let gpuWorkers: Worker[] = [];
  let gpuRunning: Promise<unknown> = Promise.resolve();

  async function startGpuWorker() {
    gpuWorkers = await createWorkers({
      connection: flow.env.nativeConnection,
      namespace: flow.env.namespace ?? 'default',
      queues: ['gpu'],
      activities: createGpuActivities({
        store: flow.store,
        backendFor: (gpu) =>
          createKubernetesBackend({
            kubeConfig: kc,
            config: gpu as KubernetesGpuConfig,
            pollIntervalMs: 500,
          }),
      }),
      workflowBundle: await workflowBundle(),
      shutdownGraceTime: '1s',
    });
    gpuRunning = Promise.all(gpuWorkers.map((w) => w.run()));
  }
  async function stopGpuWorker() {
    for (const w of gpuWorkers) w.shutdown();
    await gpuRunning;
    gpuWorkers = [];
  }

  before(async () => {
    kc = await workerKubeConfig();
    flow = await startFlowEnv({ queues: ['workflow', 'data', 'llm'] });
    await startGpuWorker();
  });
  after(async () => {
    await stopGpuWorker();
    await flow?.close();
  });

  const start = (id: string) =>
    flow.env.client.workflow.start(migrationWorkflow, {
      taskQueue: TASK_QUEUES.workflow,
      workflowId: id,
      args: [
        {
          migrationId: id,
          config: flow.config(id, { gpu: gpuConfig('trainer:hang') }),
          tuning: { heartbeatTimeout: '4s' },
        },
      ],
    });

  const podRunning = async (id: string) =>
    (await podsOf(id)).some((p) => p.status?.phase === 'Running' && !p.metadata?.deletionTimestamp);

  it('cancel deletes the Job and its pods within 30 s', async () => {
    const handle = await start('k8s-cancel');
    await waitFor("the first GPU step's pod running", () => podRunning('k8s-cancel'), 120_000);
    const t0 = Date.now();
    await handle.cancel();
    await waitFor(
      'the Job and its pods gone',
      async () => (await jobsOf('k8s-cancel')).length === 0 && (await podsOf('k8s-cancel')).length === 0,
      30_000,
    );
    const seconds = (Date.now() - t0) / 1000;
    assert.ok(seconds <= 30, `freed in ${seconds}s`);
    await assert.rejects(handle.result(), WorkflowFailedError);
    const desc = await handle.describe();
    assert.equal(desc.status.name, 'CANCELLED');
    assert.equal(desc.typedSearchAttributes.get(SA_STATUS), 'cancelled');
    const progress = await handle.query(progressQuery);
    // the Job that hangs is the first GPU step: the base student's generate, measured before cycle 0
    assert.match(progress.stageDetail, /cancelled in generate/);
    assert.ok(await flow.store.find('k8s-cancel/report.html'), 'report written');
  });

  it('terminate with the GPU worker alive: the activity finds its workflow gone and deletes the Job', async () => {
    const handle = await start('k8s-terminate-live');
    await waitFor("the first GPU step's pod running", () => podRunning('k8s-terminate-live'), 120_000);
    await handle.terminate('test: terminated');
    await waitFor(
      'the Job and its pods gone',
      async () =>
        (await jobsOf('k8s-terminate-live')).length === 0 &&
        (await podsOf('k8s-terminate-live')).length === 0,
      30_000,
    );
    assert.equal((await handle.describe()).status.name, 'TERMINATED');
  });

  it('terminate -> the reaper deletes the Job within its period', async () => {
    const doomed = await start('k8s-terminated');
    const alive = await start('k8s-still-running');
    await waitFor(
      'both GPU pods running',
      async () => {
        return (await podRunning('k8s-terminated')) && (await podRunning('k8s-still-running'));
      },
      120_000,
    );
    const [job] = await jobsOf('k8s-terminated');
    assert.equal(job!.metadata?.annotations?.['llamaduo.dev/workflow-id'], 'k8s-terminated');
    // the GPU worker is lost: its activities stop waiting and leave their Jobs for a successor
    await stopGpuWorker();
    assert.equal((await jobsOf('k8s-terminated')).length, 1, 'a lost worker leaves the Job');
    await doomed.terminate('test: terminated');

    const reaped: string[] = [];
    const reaper = startGpuReaper({
      kubeConfig: kc, // the worker's ServiceAccount: its Role must allow this
      client: flow.env.client,
      namespaces: [NAMESPACE],
      periodMs: REAPER_PERIOD_MS,
      log: (m) => reaped.push(m),
    });
    const t0 = Date.now();
    try {
      await waitFor(
        'the Job and pods of the terminated migration gone',
        async () =>
          (await jobsOf('k8s-terminated')).length === 0 && (await podsOf('k8s-terminated')).length === 0,
        REAPER_PERIOD_MS + 20_000,
      );
      const seconds = (Date.now() - t0) / 1000;
      // a pass at start, then every period: deleted at the first pass after the terminate
      assert.ok(seconds * 1000 <= REAPER_PERIOD_MS + 15_000, `reaped after ${seconds}s`);
      assert.ok(
        reaped.some((m) => m.includes('k8s-terminated')),
        reaped.join('\n'),
      );
      // two more passes: the running migration's Job is not touched
      await new Promise((r) => setTimeout(r, 2 * REAPER_PERIOD_MS));
      assert.equal((await jobsOf('k8s-still-running')).length, 1, 'the running migration keeps its Job');
      assert.ok(!reaped.some((m) => m.includes('k8s-still-running')), reaped.join('\n'));

      await alive.terminate('test: done');
      await waitFor(
        'the second Job reaped after its terminate',
        async () => (await jobsOf('k8s-still-running')).length === 0,
        REAPER_PERIOD_MS + 20_000,
      );
    } finally {
      await reaper.stop();
    }
  });
});
