// Hardened GPU Jobs against the real API server, scheduler and Job controller (kwok as the kubelet): a pod
// that cannot start fails its step within the configured time and its Job is deleted, a crash on a flaky
// node is retried once elsewhere, and many concurrent steps share one informer (two watch connections).
import { strict as assert } from 'node:assert';
import { request } from 'node:https';
import { after, before, describe, it } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { informerStats } from '../../activities/gpu/job-informer';
import { addGpuNode, adminKubeConfig, gpuConfig, GPU_NODE, NAMESPACE, workerKubeConfig } from './env';
import { failureOf, jobsOf, podsOf, runStep, waitFor } from './helpers';

const FLAKY_POOL = { 'llamaduo.dev/test-pool': 'flaky' };
const SECOND_NODE = 'gpu-node-2';

let kc: k8s.KubeConfig;
before(async () => {
  kc = await workerKubeConfig();
});

/** Open WATCH requests the API server counts for one resource in namespaced scope. */
async function namespacedWatches(resource: string): Promise<number> {
  const admin = adminKubeConfig();
  const opts: { headers?: Record<string, string>; rejectUnauthorized?: boolean } = {};
  await admin.applyToHTTPSOptions(opts);
  const text = await new Promise<string>((resolve, reject) => {
    const req = request(
      `${admin.getCurrentCluster()!.server}/metrics`,
      { ...opts, rejectUnauthorized: false },
      (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve(body));
      },
    );
    req.on('error', reject);
    req.end();
  });
  let n = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith('apiserver_longrunning_requests{')) continue;
    if (
      line.includes(`resource="${resource}"`) &&
      line.includes('scope="namespace"') &&
      line.includes('verb="WATCH"')
    )
      n += Number(line.split(' ').at(-1));
  }
  return n;
}

describe('hardened GPU Jobs', () => {
  after(async () => {
    await adminKubeConfig()
      .makeApiClient(k8s.CoreV1Api)
      .deleteNode({ name: SECOND_NODE })
      .catch(() => {});
  });

  it('fails a step whose Secret is missing within stuckTimeoutSeconds, naming the Secret, and deletes the Job', async () => {
    const started = Date.now();
    const cfg = gpuConfig('trainer:ok', { secretName: 'absent-secret', stuckTimeoutSeconds: 2 });
    const f = await failureOf(runStep(kc, cfg, 'nosecret').done);
    assert.equal(f.type, 'GpuJobConfigError');
    assert.equal(f.nonRetryable, true);
    assert.match(f.message, /CreateContainerConfigError: secret "absent-secret" not found/);
    assert.ok(Date.now() - started < 20_000, `failed after ${Date.now() - started} ms`);
    await waitFor('job deleted', async () => (await jobsOf('nosecret')).length === 0);
  });

  it('fails a step whose volume cannot attach (Multi-Attach) within stuckTimeoutSeconds and deletes the Job', async () => {
    const run = runStep(kc, gpuConfig('trainer:stuck-mount', { stuckTimeoutSeconds: 2 }), 'multiattach');
    let pod: k8s.V1Pod | undefined;
    await waitFor('pod ContainerCreating', async () => {
      pod = (await podsOf(run.job)).find((p) => p.status?.containerStatuses?.length);
      return !!pod;
    });
    // what the attach-detach controller writes when the volume is still attached to another node
    await adminKubeConfig()
      .makeApiClient(k8s.CoreV1Api)
      .createNamespacedEvent({
        namespace: NAMESPACE,
        body: {
          metadata: { generateName: `${pod!.metadata!.name}.` },
          involvedObject: {
            kind: 'Pod',
            name: pod!.metadata!.name,
            namespace: NAMESPACE,
            uid: pod!.metadata!.uid,
          },
          type: 'Warning',
          reason: 'FailedAttachVolume',
          message:
            'Multi-Attach error for volume "pvc-0b1c" Volume is already used by pod(s) llamaduo-other-c0-finetune-x',
          source: { component: 'attachdetach-controller' },
          lastTimestamp: new Date(),
          firstTimestamp: new Date(),
          count: 1,
        },
      });
    const f = await failureOf(run.done);
    assert.equal(f.type, 'GpuJobVolumeMountFailed');
    assert.equal(f.nonRetryable, false, 'the volume may be free by the next attempt');
    assert.match(f.message, /FailedAttachVolume: Multi-Attach error for volume "pvc-0b1c"/);
    await waitFor('job deleted', async () => (await jobsOf('multiattach')).length === 0);
  });

  it('fails a step whose nodeSelector no node matches, saying so', async () => {
    const cfg = gpuConfig('trainer:ok', {
      nodeSelector: { 'nvidia.com/gpu.product': 'NVIDIA-B200' },
      unschedulableTimeoutSeconds: 2,
    });
    const f = await failureOf(runStep(kc, cfg, 'noselector').done);
    assert.equal(f.type, 'GpuJobUnschedulable');
    assert.match(f.message, /node affinity\/selector/);
    await waitFor('job deleted', async () => (await jobsOf('noselector')).length === 0);
  });

  it('retries a BackoffLimitExceeded once, away from the node it failed on', async () => {
    const core = adminKubeConfig().makeApiClient(k8s.CoreV1Api);
    await core.patchNode(
      { name: GPU_NODE, body: { metadata: { labels: FLAKY_POOL } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    // Only gpu-node-1 is in the pool when the step starts, so its first pod lands there and crashes.
    const run = runStep(kc, gpuConfig('trainer:flaky-node', { nodeSelector: FLAKY_POOL }), 'flaky');
    await waitFor('resubmitted elsewhere', () => run.beats.some((b) => b.origin === 'retriedElsewhere'));
    const [job] = await jobsOf('flaky');
    const term =
      job!.spec!.template.spec!.affinity!.nodeAffinity!.requiredDuringSchedulingIgnoredDuringExecution!
        .nodeSelectorTerms[0]!;
    assert.deepEqual(term.matchExpressions![0]!.values, [GPU_NODE]);
    await addGpuNode(SECOND_NODE, FLAKY_POOL);
    await run.done;
    const pods = await podsOf(run.job);
    assert.deepEqual(
      pods.map((p) => p.spec!.nodeName),
      [SECOND_NODE],
    );
  });

  it('gives up when the step fails again on the other node too', async () => {
    // gpu-node-2 (if scheduled there) succeeds, so pin the crash: backoffLimit exceeded on the only node left
    const run = runStep(kc, gpuConfig('trainer:crash', { nodeSelector: FLAKY_POOL }), 'twice');
    const f = await failureOf(run.done);
    assert.equal(f.type, 'GpuJobBackoffLimitExceeded');
    assert.match(f.message, /after a first failure on gpu-node-/);
    assert.ok(run.beats.some((b) => b.origin === 'retriedElsewhere'));
  });

  it('follows many concurrent steps through one informer: two watch connections, not two per step', async () => {
    const fresh = await workerKubeConfig();
    const startedBefore = informerStats.started;
    const before = {
      jobs: await namespacedWatches('jobs'),
      pods: await namespacedWatches('pods'),
    };
    const cfg = gpuConfig('trainer:slow', { gpus: 0, cpu: '100m', memory: '64Mi', nodeSelector: {} });
    const runs = Array.from({ length: 40 }, (_, i) => runStep(fresh, cfg, `many-${i}`));
    await waitFor('all running', () => runs.every((r) => r.beats.some((b) => b.phase === 'running')), 60_000);
    const during = {
      jobs: await namespacedWatches('jobs'),
      pods: await namespacedWatches('pods'),
    };
    await Promise.all(runs.map((r) => r.done));
    assert.equal(informerStats.started - startedBefore, 1, 'one informer pair for the worker');
    assert.ok(during.jobs - before.jobs <= 1, `job watches ${before.jobs} -> ${during.jobs}`);
    assert.ok(during.pods - before.pods <= 1, `pod watches ${before.pods} -> ${during.pods}`);
    assert.ok(during.jobs >= 1 && during.pods >= 1, JSON.stringify(during));
  });
});
