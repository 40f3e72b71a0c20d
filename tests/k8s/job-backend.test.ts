// The Kubernetes Job backend against a real API server, controller manager and scheduler, with kwok as
// the kubelet, running as the worker's ServiceAccount from k8s/.
import { strict as assert } from 'node:assert';
import { before, describe, it } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { StopWaiting } from '../../activities/gpu/backend';
import { adminKubeConfig, gpuConfig, NAMESPACE, workerKubeConfig } from './env';
import { failureOf, jobsOf, podsOf, runStep, waitFor } from './helpers';

let kc: k8s.KubeConfig;
before(async () => {
  kc = await workerKubeConfig();
});

describe('Kubernetes Job backend', () => {
  it('runs a Job to completion through the scheduler and kwok, heartbeating its pods', async () => {
    const run = runStep(kc, gpuConfig('trainer:ok'), 'complete');
    await run.done;
    const [job, ...rest] = await jobsOf('complete');
    assert.equal(rest.length, 0);
    assert.equal(job!.metadata!.name, 'llamaduo-complete-c0-finetune');
    assert.ok(job!.status!.conditions!.some((c) => c.type === 'Complete' && c.status === 'True'));
    assert.ok(
      run.beats.some((b) => b.phase === 'running' && b.pods?.some((p) => p.phase === 'Running')),
      JSON.stringify(run.beats.map((b) => b.phase)),
    );
    const pods = await podsOf(run.job);
    assert.equal(
      pods[0]!.spec!.nodeName,
      'gpu-node-1',
      'scheduled onto the GPU node (selector, toleration, GPU fit)',
    );
  });

  it('adopts the Job a previous attempt created instead of duplicating it', async () => {
    const first = runStep(kc, gpuConfig('trainer:slow'), 'adopt');
    await waitFor('first attempt running', () => first.beats.some((b) => b.phase === 'running'));
    first.stop.abort(new StopWaiting(false, 'worker shutdown'));
    await assert.rejects(first.done, StopWaiting);
    const second = runStep(kc, gpuConfig('trainer:slow'), 'adopt');
    await second.done;
    assert.equal(second.beats[0]!.origin, 'adopted');
    assert.equal((await jobsOf('adopt')).length, 1);
    assert.equal((await podsOf(second.job)).length, 1, 'one pod: the Job ran once');
  });

  it('classifies OOMKilled as non-retryable and keeps the log tail', async () => {
    const f = await failureOf(runStep(kc, gpuConfig('trainer:oom', { backoffLimit: 2 }), 'oom').done);
    assert.equal(f.type, 'GpuJobOOMKilled');
    assert.equal(f.nonRetryable, true);
    assert.equal(
      (await podsOf('llamaduo-oom-c0-finetune')).length,
      1,
      'podFailurePolicy failed the Job at once despite backoffLimit 2',
    );
  });

  it('classifies CUDA out of memory from the termination log', async () => {
    const f = await failureOf(runStep(kc, gpuConfig('trainer:cuda-oom'), 'cuda').done);
    assert.equal(f.type, 'GpuJobCudaOutOfMemory');
    assert.equal(f.nonRetryable, true);
    assert.match(f.message, /torch\.OutOfMemoryError: CUDA out of memory/);
    assert.deepEqual((f.details![0] as { logTail: string[] }).logTail.slice(0, 2), [
      'Loading base model',
      'step 12/400 loss 1.82',
    ]);
  });

  it('classifies repeated crashes as BackoffLimitExceeded after backoffLimit retries', async () => {
    const f = await failureOf(
      runStep(kc, gpuConfig('trainer:crash', { backoffLimit: 1, retryOnOtherNode: false }), 'crash').done,
    );
    assert.equal(f.type, 'GpuJobBackoffLimitExceeded');
    assert.match(f.message, /RuntimeError: NCCL error/);
    assert.equal((await podsOf('llamaduo-crash-c0-finetune')).length, 2);
  });

  it('classifies ImagePullBackOff and deletes the stuck Job', async () => {
    const f = await failureOf(
      runStep(kc, gpuConfig('trainer:bad-pull', { stuckTimeoutSeconds: 1 }), 'pull').done,
    );
    assert.equal(f.type, 'GpuJobImagePullFailed');
    assert.equal(f.nonRetryable, true);
    await waitFor('job deleted', async () => (await jobsOf('pull')).length === 0);
  });

  it('gives up on a pod no node can take after unschedulableTimeoutSeconds', async () => {
    const cfg = gpuConfig('trainer:ok', { gpus: 16, unschedulableTimeoutSeconds: 2 });
    const f = await failureOf(runStep(kc, cfg, 'nogpu').done);
    assert.equal(f.type, 'GpuJobUnschedulable');
    assert.match(f.message, /Insufficient nvidia\.com\/gpu/);
  });

  it('classifies DeadlineExceeded', async () => {
    const f = await failureOf(
      runStep(kc, gpuConfig('trainer:hang', { activeDeadlineSeconds: 2 }), 'deadline').done,
    );
    assert.equal(f.type, 'GpuJobDeadlineExceeded');
    assert.equal(f.nonRetryable, true);
  });

  it('classifies an eviction as retryable and replaces the failed Job on the next attempt', async () => {
    const f = await failureOf(runStep(kc, gpuConfig('trainer:evicted'), 'evict').done);
    assert.equal(f.type, 'GpuJobEvicted');
    assert.equal(f.nonRetryable, false);
    await waitFor('evicted job deleted', async () => (await jobsOf('evict')).length === 0);
  });

  it('recreates a Job deleted from outside and still completes', async () => {
    const run = runStep(kc, gpuConfig('trainer:slow'), 'outside');
    await waitFor('running', () => run.beats.some((b) => b.phase === 'running'));
    const batch = adminKubeConfig().makeApiClient(k8s.BatchV1Api);
    const before = (await jobsOf('outside'))[0]!.metadata!.uid;
    await batch.deleteNamespacedJob({ name: run.job, namespace: NAMESPACE, propagationPolicy: 'Background' });
    await run.done;
    assert.ok(run.beats.some((b) => b.origin === 'recreated'));
    const jobs = await jobsOf('outside');
    assert.equal(jobs.length, 1);
    assert.notEqual(jobs[0]!.metadata!.uid, before);
  });

  it('deletes the Job and its pods when the activity is cancelled', async () => {
    const run = runStep(kc, gpuConfig('trainer:hang'), 'cancel');
    await waitFor('running', () => run.beats.some((b) => b.phase === 'running'));
    run.stop.abort(new StopWaiting(true, 'migration cancelled'));
    await assert.rejects(run.done, StopWaiting);
    await waitFor('job gone', async () => (await jobsOf('cancel')).length === 0);
    await waitFor('pods gone', async () => (await podsOf(run.job)).length === 0);
  });

  it('treats a suspended (Kueue) Job as queued until it is admitted', async () => {
    const run = runStep(kc, gpuConfig('trainer:ok', { kueueQueue: 'llamaduo-gpu' }), 'queued');
    await waitFor('queued heartbeat', () => run.beats.some((b) => b.phase === 'queued'));
    const [job] = await jobsOf('queued');
    assert.equal(job!.metadata!.labels!['kueue.x-k8s.io/queue-name'], 'llamaduo-gpu');
    assert.equal((await podsOf(run.job)).length, 0);
    // what Kueue does on admission
    await adminKubeConfig()
      .makeApiClient(k8s.BatchV1Api)
      .patchNamespacedJob(
        { name: run.job, namespace: NAMESPACE, body: { spec: { suspend: false } } },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
      );
    await run.done;
  });
});
