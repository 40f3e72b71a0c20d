import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { GpuBackendConfig } from '../../../common/config';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  AVOID_NODES_ANNOTATION,
  buildJob,
  type KubernetesGpuConfig,
} from '../../../activities/gpu/job-manifest';
import {
  jobLabels,
  jobName,
  NAMESPACE_ANNOTATION,
  ownerOf,
  RUN_ANNOTATION,
  stepKeys,
  WORKFLOW_ANNOTATION,
} from '../../../activities/gpu/names';

const cfg = (extra: object = {}) =>
  GpuBackendConfig.parse({
    kind: 'kubernetes',
    image: 'ghcr.io/llamaduo/trainer:1',
    ...extra,
  }) as KubernetesGpuConfig;
const req = {
  migrationId: 'support-bot',
  cycle: 2,
  step: 'finetune' as const,
  specPath: '/artifacts/support-bot/cycle-2/finetune/spec.json',
};

describe('trainer Job manifest', () => {
  it("runs the best adapter's export as a Job of its own step, named and keyed apart from the cycle's fine-tune", () => {
    const exp = {
      ...req,
      step: 'export' as const,
      specPath: '/artifacts/support-bot/cycle-2/export/spec.json',
    };
    const job = buildJob(exp, cfg());
    const c = job.spec!.template.spec!.containers[0]!;
    assert.deepEqual(c.command, ['python', '-m', 'llamaduo_trainer', 'export', '--spec', exp.specPath]);
    assert.equal(job.spec!.template.metadata!.labels!['llamaduo.dev/step'], 'export');
    assert.equal(jobName(exp), 'llamaduo-support-bot-c2-export');
    assert.notEqual(jobName(exp), jobName(req));
    assert.equal(stepKeys(exp).result, 'support-bot/cycle-2/export/out/result.json');
  });
  it('gives the trainer the Hub token only as a Secret reference, the mirror, and offline mode only when asked', () => {
    const env = (extra: object) => buildJob(req, cfg(extra)).spec!.template.spec!.containers[0]!.env!;
    const plain = env({});
    assert.equal(plain.find((e) => e.name === 'HF_HUB_OFFLINE')?.value, '0');
    assert.equal(
      plain.find((e) => e.name === 'HF_TOKEN'),
      undefined,
    );
    const hub = env({
      hub: { endpoint: 'https://hf-mirror.internal', offline: true, tokenSecret: { name: 'hf-token' } },
    });
    assert.equal(hub.find((e) => e.name === 'HF_ENDPOINT')?.value, 'https://hf-mirror.internal');
    assert.equal(hub.find((e) => e.name === 'HF_HUB_OFFLINE')?.value, '1');
    const token = hub.find((e) => e.name === 'HF_TOKEN')!;
    assert.equal(token.value, undefined);
    assert.deepEqual(token.valueFrom, { secretKeyRef: { name: 'hf-token', key: 'HF_TOKEN' } });
  });

  it('names Jobs deterministically per migration, cycle and step', () => {
    assert.equal(jobName(req), 'llamaduo-support-bot-c2-finetune');
    assert.equal(jobName(req), jobName({ ...req }));
    assert.notEqual(jobName(req), jobName({ ...req, step: 'generate' }));
    const long = jobName({ ...req, migrationId: 'a'.repeat(48) });
    assert.ok(long.length <= 63 && /^[a-z0-9-]+[a-z0-9]$/.test(long), long);
    assert.notEqual(long, jobName({ ...req, migrationId: 'a'.repeat(47) + 'b' }));
  });

  it('gives tagged work (the promoted adapter re-generated) its own Job name, labels and keys', () => {
    const gen = { ...req, step: 'generate' as const };
    const tagged = { ...gen, tag: 'promoted-v3' };
    assert.equal(jobName(tagged), 'llamaduo-support-bot-c2-generate-promoted-v3');
    assert.notEqual(jobName(tagged), jobName(gen));
    assert.equal(stepKeys(tagged).dir, 'support-bot/cycle-2/generate-promoted-v3');
    assert.notEqual(stepKeys(tagged).result, stepKeys(gen).result);
    const job = buildJob(tagged, cfg());
    assert.equal(job.metadata!.labels!['llamaduo.dev/tag'], 'promoted-v3');
    assert.equal(job.metadata!.labels!['llamaduo.dev/step'], 'generate');
    assert.throws(() => jobName({ ...gen, tag: 'Promoted/../x' }), /invalid GPU work tag/);
  });

  it('records the owning run (namespace, workflow id, run id) on the Job for the reaper', () => {
    const owner = { namespace: 'team-a', workflowId: 'llamaduo-support-2026', runId: 'r-1' };
    const annotations = buildJob({ ...req, owner }, cfg()).metadata!.annotations!;
    assert.equal(annotations[WORKFLOW_ANNOTATION], 'llamaduo-support-2026');
    assert.equal(annotations[RUN_ANNOTATION], 'r-1');
    assert.equal(annotations[NAMESPACE_ANNOTATION], 'team-a');
    assert.deepEqual(ownerOf(annotations), owner);
    assert.deepEqual(ownerOf({ [WORKFLOW_ANNOTATION]: 'old-job' }), {
      workflowId: 'old-job',
      namespace: undefined,
      runId: undefined,
    });
    assert.equal(buildJob(req, cfg()).metadata!.annotations, undefined);
  });

  it('requests GPUs, places, secures and bounds the Job', () => {
    const job = buildJob(
      req,
      cfg({
        gpus: 2,
        nodeSelector: { 'nvidia.com/gpu.product': 'H100' },
        tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }],
        priorityClassName: 'llamaduo-training',
        secretName: 'hf-token',
        backoffLimit: 1,
        activeDeadlineSeconds: 3600,
      }),
    );
    const spec = job.spec!;
    const pod = spec.template.spec!;
    const c = pod.containers[0]!;
    assert.equal(job.metadata!.labels!['llamaduo.dev/migration'], 'support-bot');
    assert.equal(job.metadata!.labels!['llamaduo.dev/cycle'], '2');
    assert.equal(spec.template.metadata!.labels!['llamaduo.dev/step'], 'finetune');
    assert.deepEqual(c.command, ['python', '-m', 'llamaduo_trainer', 'finetune', '--spec', req.specPath]);
    assert.equal(c.resources!.limits!['nvidia.com/gpu'], '2');
    assert.deepEqual(pod.nodeSelector, { 'nvidia.com/gpu.product': 'H100' });
    assert.equal(pod.tolerations![0]!.key, 'nvidia.com/gpu');
    assert.equal(pod.priorityClassName, 'llamaduo-training');
    assert.deepEqual(c.envFrom, [{ secretRef: { name: 'hf-token' } }]);
    assert.equal(pod.securityContext!.runAsNonRoot, true);
    assert.equal(c.securityContext!.allowPrivilegeEscalation, false);
    assert.equal(pod.restartPolicy, 'Never');
    assert.equal(spec.backoffLimit, 1);
    assert.equal(spec.activeDeadlineSeconds, 3600);
    assert.ok(spec.ttlSecondsAfterFinished! > 0);
    assert.equal(spec.suspend, false);
    assert.equal(spec.podReplacementPolicy, 'Failed');
    const [ignore, failFast] = spec.podFailurePolicy!.rules;
    assert.equal(failFast!.action, 'FailJob');
    assert.deepEqual(failFast!.onExitCodes!.values, [2, 137], 'ascending, as the API server requires');
    assert.equal(ignore!.action, 'Ignore');
    assert.equal(ignore!.onPodConditions![0]!.type, 'DisruptionTarget');
    const shm = pod.volumes!.find((v) => v.name === 'dshm')!;
    assert.deepEqual(shm.emptyDir, { medium: 'Memory', sizeLimit: '16Gi' });
    assert.equal(
      pod.volumes!.find((v) => v.name === 'artifacts')!.persistentVolumeClaim!.claimName,
      'llamaduo-artifacts',
    );
  });

  it('with an S3 store mounts no artifacts volume and passes the endpoint but never keys', () => {
    const job = buildJob(
      { ...req, specPath: 's3://models/llamaduo/support-bot/cycle-2/finetune/spec.json' },
      cfg({ serviceAccountName: 'llamaduo-trainer', workSize: '200Gi', secretName: 's3-keys' }),
      {
        location: 's3://models/llamaduo',
        env: { AWS_ENDPOINT_URL_S3: 'https://r2.example.com', AWS_REGION: 'auto' },
      },
    );
    const pod = job.spec!.template.spec!;
    const c = pod.containers[0]!;
    assert.equal(pod.serviceAccountName, 'llamaduo-trainer');
    assert.equal(c.command!.at(-1), 's3://models/llamaduo/support-bot/cycle-2/finetune/spec.json');
    assert.equal(
      pod.volumes!.find((v) => v.name === 'artifacts'),
      undefined,
    );
    assert.deepEqual(pod.volumes!.find((v) => v.name === 'work')!.emptyDir, { sizeLimit: '200Gi' });
    const env = Object.fromEntries(c.env!.map((e) => [e.name, e.value]));
    assert.equal(env.LLAMADUO_ARTIFACTS, 's3://models/llamaduo');
    assert.equal(env.LLAMADUO_WORK_DIR, '/work');
    assert.equal(env.AWS_ENDPOINT_URL_S3, 'https://r2.example.com');
    assert.ok(!Object.keys(env).some((k) => /SECRET|ACCESS_KEY|TOKEN/.test(k)), Object.keys(env).join());
    assert.deepEqual(c.envFrom, [{ secretRef: { name: 's3-keys' } }]);
  });

  it('suspends and labels the Job for Kueue when a queue is configured', () => {
    const job = buildJob(req, cfg({ kueueQueue: 'llamaduo-gpu', gpus: 0 }));
    assert.equal(job.spec!.suspend, true);
    assert.equal(job.metadata!.labels!['kueue.x-k8s.io/queue-name'], 'llamaduo-gpu');
    assert.equal(job.spec!.template.spec!.containers[0]!.resources!.limits!['nvidia.com/gpu'], undefined);
  });
});

describe('hardened trainer Job', () => {
  it("runs as the image's user with a writable home for the caches, and the pull and identity settings", () => {
    const job = buildJob(
      req,
      cfg({
        imagePullSecrets: ['ghcr-pull'],
        imagePullPolicy: 'IfNotPresent',
        serviceAccountName: 'llamaduo-trainer',
        kueuePriorityClass: 'llamaduo-batch',
      }),
    );
    const pod = job.spec!.template.spec!;
    const c = pod.containers[0]!;
    // k8s/trainer/Dockerfile: USER 10001:10001
    const dockerfile = readFileSync(
      path.resolve(import.meta.dirname, '../../../k8s/trainer/Dockerfile'),
      'utf8',
    );
    const [, uid, gid] = /^USER (\d+):(\d+)$/m.exec(dockerfile)!;
    assert.equal(pod.securityContext!.runAsUser, Number(uid));
    assert.equal(pod.securityContext!.runAsGroup, Number(gid));
    assert.equal(pod.securityContext!.fsGroup, Number(gid));
    const env = Object.fromEntries(c.env!.map((e) => [e.name, e.value]));
    const home = c.volumeMounts!.find((m) => m.name === 'home')!.mountPath;
    assert.equal(env.HOME, home);
    for (const dir of [env.HF_HOME!, env.TRITON_CACHE_DIR!]) assert.ok(dir.startsWith(`${home}/`), dir);
    assert.deepEqual(pod.volumes!.find((v) => v.name === 'home')!.emptyDir, {});
    assert.deepEqual(pod.imagePullSecrets, [{ name: 'ghcr-pull' }]);
    assert.equal(c.imagePullPolicy, 'IfNotPresent');
    assert.equal(pod.serviceAccountName, 'llamaduo-trainer');
    assert.equal(job.metadata!.labels!['kueue.x-k8s.io/priority-class'], 'llamaduo-batch');
    assert.equal(pod.terminationGracePeriodSeconds, 300, 'time for the SIGTERM checkpoint');
    assert.equal(pod.affinity, undefined);
  });

  it('keeps a resubmitted Job off the nodes it failed on and says so on the Job', () => {
    const job = buildJob({ ...req, avoidNodes: ['gpu-7', 'gpu-9'] }, cfg());
    const term =
      job.spec!.template.spec!.affinity!.nodeAffinity!.requiredDuringSchedulingIgnoredDuringExecution!
        .nodeSelectorTerms[0]!;
    assert.deepEqual(term.matchExpressions, [
      { key: 'kubernetes.io/hostname', operator: 'NotIn', values: ['gpu-7', 'gpu-9'] },
    ]);
    assert.equal(job.metadata!.annotations![AVOID_NODES_ANNOTATION], 'gpu-7,gpu-9');
  });
});

describe('tagged GPU work', () => {
  it("gives the base student's and a promoted adapter's generate their own Job name and artifact folder", async () => {
    const { stepKeys } = await import('../../../activities/gpu/names');
    const gen = { migrationId: 'support-bot', cycle: 0, step: 'generate' as const };
    assert.equal(jobName({ ...gen, tag: 'base' }), 'llamaduo-support-bot-c0-generate-base');
    assert.notEqual(jobName({ ...gen, tag: 'base' }), jobName(gen));
    assert.equal(stepKeys({ ...gen, tag: 'base' }).dir, 'support-bot/cycle-0/generate-base');
    assert.equal(stepKeys(gen).dir, 'support-bot/cycle-0/generate');
    assert.notEqual(stepKeys({ ...gen, tag: 'promoted' }).result, stepKeys(gen).result);
  });
});

describe('migration label', () => {
  it('keeps two long migration ids with one 63-character prefix apart', async () => {
    const { migrationLabel, migrationSelector } = await import('../../../activities/gpu/names');
    const prefix = 'scheduled-weekly-support-closed-qa-gemma-2b-it-from-gpt-4o-migration';
    const a = `${prefix}-2026-11-30`;
    const b = `${prefix}-2026-12-07`;
    assert.notEqual(migrationSelector(a), migrationSelector(b));
    for (const v of [migrationLabel(a), migrationLabel(b)]) {
      assert.ok(v.length <= 63, v);
      assert.match(v, /^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$/);
    }
    assert.equal(migrationLabel('support-bot'), 'support-bot');
    assert.equal(
      jobLabels({ migrationId: a, cycle: 0, step: 'generate' })['llamaduo.dev/migration'],
      migrationLabel(a),
    );
  });
});
