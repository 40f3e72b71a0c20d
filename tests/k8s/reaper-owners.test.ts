// The GPU reaper judges a Job by the run that owns it: Temporal namespace, workflow id and run id, read from
// the Job's annotations (activities/gpu/names.ts). Real API server (Jobs created as the worker would), real
// dev server with two namespaces; the owners are workflows started with no worker polling (running until
// terminated).
//   - a run reset away (here: terminated, then a new run of the same workflow id started) loses its Job
//     although the workflow id runs on; the new run's Job stays;
//   - a Job of another namespace is judged by that namespace's client (with only the default client it would
//     look "not found" and be deleted); a namespace the reaper has no client for is left alone;
//   - a run that adopts a Job left by another run re-annotates it, so the reaper leaves it to its new owner.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { Client } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { StopWaiting } from '../../activities/gpu/backend';
import { buildJob } from '../../activities/gpu/job-manifest';
import { RUN_ANNOTATION, type WorkflowOwner } from '../../activities/gpu/names';
import { reapOrphanedJobs } from '../../activities/gpu/reaper';
import { startTestEnv } from '../helpers/temporal-env';
import { adminKubeConfig, ensureWorkerSetup, gpuConfig, NAMESPACE, workerKubeConfig } from './env';
import { jobsOf, runStep, waitFor } from './helpers';

const OTHER = 'team-b';

describe('the GPU reaper judges Jobs by namespace, workflow id and run id', () => {
  let env: TestWorkflowEnvironment;
  let other: Client;
  let kc: k8s.KubeConfig;

  before(async () => {
    await ensureWorkerSetup();
    kc = await workerKubeConfig();
    env = await startTestEnv({ namespaces: [OTHER] });
    other = new Client({ connection: env.connection, namespace: OTHER });
  });
  after(async () => {
    await env?.teardown();
  });

  /** A running workflow run (nothing polls its queue, so it runs until terminated). */
  async function run(client: Client, workflowId: string): Promise<WorkflowOwner> {
    const h = await client.workflow.start('ownerOfGpuWork', { taskQueue: 'nobody-polls', workflowId });
    return { namespace: client.options.namespace, workflowId, runId: h.firstExecutionRunId };
  }
  const terminate = (client: Client, o: WorkflowOwner) =>
    client.workflow.getHandle(o.workflowId, o.runId).terminate('test');

  async function createJob(migrationId: string, owner: WorkflowOwner) {
    const body = buildJob(
      { migrationId, cycle: 0, step: 'finetune', specPath: '/artifacts/spec.json', owner },
      gpuConfig('trainer:hang'),
    );
    await adminKubeConfig().makeApiClient(k8s.BatchV1Api).createNamespacedJob({ namespace: NAMESPACE, body });
  }

  it('deletes the Jobs of closed runs only, each run looked up in its own namespace', async () => {
    const client = env.client;
    const resetAway = await run(client, 'reaper-reset');
    await terminate(client, resetAway);
    const successor = await run(client, 'reaper-reset');
    const elsewhere = await run(other, 'reaper-elsewhere');
    const elsewhereDone = await run(other, 'reaper-elsewhere-done');
    await terminate(other, elsewhereDone);
    await createJob('reap-old-run', resetAway);
    await createJob('keep-new-run', successor);
    await createJob('keep-other-ns', elsewhere);
    await createJob('reap-other-ns', elsewhereDone);
    await createJob('keep-unserved-ns', { namespace: 'team-c', workflowId: 'x', runId: 'y' });

    // with the default namespace's client alone, a Job of team-b is not judged at all
    const narrow = await reapOrphanedJobs({ kubeConfig: kc, client, namespaces: [NAMESPACE] });
    assert.deepEqual(narrow.sort(), [`${NAMESPACE}/llamaduo-reap-old-run-c0-finetune`]);
    assert.equal((await jobsOf('keep-other-ns')).length, 1);

    const reaped = await reapOrphanedJobs({
      kubeConfig: kc,
      client,
      clients: [other],
      namespaces: [NAMESPACE],
    });
    assert.deepEqual(reaped.sort(), [`${NAMESPACE}/llamaduo-reap-other-ns-c0-finetune`]);
    for (const kept of ['keep-new-run', 'keep-other-ns', 'keep-unserved-ns'])
      assert.equal((await jobsOf(kept)).length, 1, `${kept} kept`);
    for (const gone of ['reap-old-run', 'reap-other-ns']) {
      const [job] = await jobsOf(gone);
      assert.ok(!job || job.metadata?.deletionTimestamp, `${gone} deleted`);
    }
  });

  it('a run adopting a Job of an earlier run takes it over; the reaper leaves it', async () => {
    const client = env.client;
    const first = await run(client, 'reaper-adopt');
    const a = runStep(kc, gpuConfig('trainer:hang'), 'adopt-run', { owner: first });
    await waitFor('the first run created its Job', async () => (await jobsOf('adopt-run')).length === 1);
    a.stop.abort(new StopWaiting(false, 'worker lost'));
    await assert.rejects(a.done, StopWaiting);
    await terminate(client, first); // reset away
    const second = await run(client, 'reaper-adopt');
    const b = runStep(kc, gpuConfig('trainer:hang'), 'adopt-run', { owner: second });
    try {
      await waitFor('adopted', () => b.beats.some((p) => p.origin === 'adopted'));
      const [job] = await jobsOf('adopt-run');
      assert.equal(job!.metadata!.annotations![RUN_ANNOTATION], second.runId);
      assert.deepEqual(await reapOrphanedJobs({ kubeConfig: kc, client, namespaces: [NAMESPACE] }), []);
    } finally {
      b.stop.abort(new StopWaiting(false, 'worker lost'));
      await b.done.catch(() => undefined);
    }
    await terminate(client, second);
    await waitFor('gone once its run closed', async () => {
      await reapOrphanedJobs({ kubeConfig: kc, client, namespaces: [NAMESPACE] });
      const [job] = await jobsOf('adopt-run');
      return !job || !!job.metadata?.deletionTimestamp;
    });
  });
});
