import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import type { V1Job, V1Pod } from '@kubernetes/client-node';
import { classifyJob } from '../../../activities/gpu/classify';

const now = new Date('2026-01-01T12:00:00Z');
const opts = { now, unschedulableTimeoutSeconds: 600 };
const job = (conditions: { type: string; reason?: string }[] = [], suspend = false): V1Job => ({
  spec: { suspend, activeDeadlineSeconds: 60, template: {} },
  status: { conditions: conditions.map((c) => ({ ...c, status: 'True' })) },
});
const pod = (status: V1Pod['status'], name = 'p1', created = '2026-01-01T11:00:00Z'): V1Pod => ({
  metadata: { name, creationTimestamp: new Date(created) },
  status,
});
const terminated = (exitCode: number, reason: string, message?: string): V1Pod['status'] => ({
  phase: 'Failed',
  containerStatuses: [
    {
      name: 'trainer',
      image: 'x',
      imageID: '',
      ready: false,
      restartCount: 0,
      state: { terminated: { exitCode, reason, message } },
    },
  ],
});
const kindOf = (s: ReturnType<typeof classifyJob>) => (s.phase === 'failed' ? s.failure.kind : s.phase);

describe('Job failure classification', () => {
  it('reads Complete, suspended (queued), pending and running', () => {
    assert.equal(kindOf(classifyJob(job([{ type: 'Complete' }]), [], opts)), 'succeeded');
    assert.equal(kindOf(classifyJob(job([], true), [], opts)), 'queued');
    assert.equal(kindOf(classifyJob(job(), [pod({ phase: 'Pending' })], opts)), 'pending');
    assert.equal(kindOf(classifyJob(job(), [pod({ phase: 'Running' })], opts)), 'running');
  });

  it('tells OOMKilled, CUDA OOM, evicted and rejected apart', () => {
    const failed = job([{ type: 'Failed', reason: 'PodFailurePolicy' }]);
    assert.equal(kindOf(classifyJob(failed, [pod(terminated(137, 'OOMKilled'))], opts)), 'oomKilled');
    const cuda = classifyJob(
      job([{ type: 'Failed', reason: 'BackoffLimitExceeded' }]),
      [pod(terminated(1, 'Error', 'step 3\ntorch.OutOfMemoryError: CUDA out of memory'))],
      opts,
    );
    assert.equal(kindOf(cuda), 'cudaOutOfMemory');
    assert.deepEqual(cuda.phase === 'failed' && cuda.failure.logTail, [
      'step 3',
      'torch.OutOfMemoryError: CUDA out of memory',
    ]);
    assert.equal(
      kindOf(classifyJob(failed, [pod({ ...terminated(143, 'Error'), reason: 'Evicted' })], opts)),
      'evicted',
    );
    assert.equal(kindOf(classifyJob(failed, [pod(terminated(2, 'Error'))], opts)), 'rejected');
    assert.equal(
      kindOf(
        classifyJob(
          job([{ type: 'Failed', reason: 'BackoffLimitExceeded' }]),
          [pod(terminated(1, 'Error'))],
          opts,
        ),
      ),
      'backoffLimitExceeded',
    );
    assert.equal(
      kindOf(classifyJob(job([{ type: 'Failed', reason: 'DeadlineExceeded' }]), [], opts)),
      'deadlineExceeded',
    );
  });

  it('judges the newest failed pod', () => {
    const failed = job([{ type: 'Failed', reason: 'BackoffLimitExceeded' }]);
    const old = pod(terminated(137, 'OOMKilled'), 'old', '2026-01-01T10:00:00Z');
    const recent = pod(terminated(2, 'Error'), 'new', '2026-01-01T11:00:00Z');
    assert.equal(kindOf(classifyJob(failed, [old, recent], opts)), 'rejected');
  });

  it('fails image pulls at once and unschedulable pods only after the timeout', () => {
    const pulling = pod({
      phase: 'Pending',
      containerStatuses: [
        {
          name: 'trainer',
          image: 'x:1',
          imageID: '',
          ready: false,
          restartCount: 0,
          state: { waiting: { reason: 'ImagePullBackOff' } },
        },
      ],
    });
    assert.equal(kindOf(classifyJob(job(), [pulling], opts)), 'imagePull');
    const unsched = (since: string) =>
      pod({
        phase: 'Pending',
        conditions: [
          {
            type: 'PodScheduled',
            status: 'False',
            reason: 'Unschedulable',
            message: '0/3 nodes: Insufficient nvidia.com/gpu',
            lastTransitionTime: new Date(since),
          },
        ],
      });
    assert.equal(kindOf(classifyJob(job(), [unsched('2026-01-01T11:55:00Z')], opts)), 'pending');
    const late = classifyJob(job(), [unsched('2026-01-01T11:49:00Z')], opts);
    assert.equal(kindOf(late), 'unschedulable');
    assert.match(late.phase === 'failed' ? late.failure.message : '', /Insufficient nvidia\.com\/gpu/);
  });

  it('fails a pod that cannot start (config, image, volume) only once it has been stuck past the limit', () => {
    const scheduledAt = '2026-01-01T11:58:00Z'; // 120 s before now
    const waiting = (reason: string, message: string) =>
      pod({
        phase: 'Pending',
        conditions: [{ type: 'PodScheduled', status: 'True', lastTransitionTime: new Date(scheduledAt) }],
        containerStatuses: [
          {
            name: 'trainer',
            image: 'x:1',
            imageID: '',
            ready: false,
            restartCount: 0,
            state: { waiting: { reason, message } },
          },
        ],
      });
    const stuck = (
      p: V1Pod,
      limit: number,
      podEvents?: Record<string, { reason: string; message: string }[]>,
    ) =>
      classifyJob(job(), [{ ...p, spec: { nodeName: 'gpu-1', containers: [] } }], {
        ...opts,
        stuckTimeoutSeconds: limit,
        podEvents,
      });
    const secret = waiting('CreateContainerConfigError', 'secret "hf-token" not found');
    assert.equal(kindOf(stuck(secret, 300)), 'pending');
    const failed = stuck(secret, 60);
    assert.equal(kindOf(failed), 'configError');
    assert.match(failed.phase === 'failed' ? failed.failure.message : '', /secret "hf-token" not found/);
    const pull = waiting('ImagePullBackOff', 'Back-off pulling image');
    assert.equal(kindOf(stuck(pull, 300)), 'pending', 'a registry hiccup gets the stuck time');
    assert.equal(kindOf(stuck(pull, 60)), 'imagePull');
    assert.equal(kindOf(stuck(waiting('InvalidImageName', 'bad'), 300)), 'imagePull', 'no wait can fix it');
    const creating = waiting('ContainerCreating', '');
    const events = {
      p1: [{ reason: 'FailedAttachVolume', message: 'Multi-Attach error for volume "pvc-1"' }],
    };
    assert.equal(kindOf(stuck(creating, 60)), 'pending', 'no failure event: maybe a slow image pull');
    assert.equal(kindOf(stuck(creating, 300, events)), 'pending');
    const mount = stuck(creating, 60, events);
    assert.equal(kindOf(mount), 'volumeMount');
    assert.match(mount.phase === 'failed' ? mount.failure.message : '', /Multi-Attach error/);
  });
});
