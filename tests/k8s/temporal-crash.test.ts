// End to end through Temporal: a real dev server, a worker process running the GPU activities against the
// cluster, killed with SIGKILL while it waits on the Job. The activity's heartbeat times out, the retry runs
// on a new worker process and adopts the same Job while it is still running (nothing has finished: no
// result.json exists until the pod's trainer writes it after the adoption), and the workflow completes with
// exactly one Job that ran once.
import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode } from '@temporalio/worker';
import { defaultPayloadConverter } from '@temporalio/common';
import type { GpuProgress } from '../../activities/gpu/backend';
import type { FineTuneResult } from '../../common/types';
import { stepKeys } from '../../activities/gpu/names';
import { fineTuneInput, tempStore } from '../unit/gpu/helpers';
import { kubeconfigYaml } from './cluster';
import { gpuConfig, workerKubeConfig } from './env';
import { jobsOf, podsOf, waitFor } from './helpers';

let env: TestWorkflowEnvironment;
before(async () => {
  const cli = process.env.TEMPORAL_CLI_PATH ?? path.resolve(import.meta.dirname, '../../.tools/bin/temporal');
  env = await TestWorkflowEnvironment.createLocal({
    server: { executable: { type: 'existing-path', path: cli }, ip: '127.0.0.1' },
  });
});
after(async () => {
  await env?.teardown();
});

// node --import tsx, not the tsx CLI: the CLI runs the script in a child, which a SIGKILL would orphan.
function startWorker(args: string[]): Promise<ChildProcess> {
  const proc = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(import.meta.dirname, 'fixtures', 'temporal-worker.ts'), ...args],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  return new Promise((resolve, reject) => {
    createInterface({ input: proc.stdout! }).on('line', (l) => l === 'ready' && resolve(proc));
    proc.once('exit', (code) => reject(new Error(`worker exited ${code} before ready`)));
  });
}

describe('Temporal worker crash', () => {
  it('the retried activity adopts the Job after the worker is killed, and the workflow completes', async () => {
    await scenario();
  });
});

async function scenario() {
  {
    const store = await tempStore();
    const migrationId = 'temporal-crash';
    const input = await fineTuneInput(store, migrationId, gpuConfig('trainer:slower'));
    const kc = await workerKubeConfig();
    const user = kc.getCurrentUser()!;
    const kubeconfig = path.join(store.root, 'worker.kubeconfig');
    await writeFile(kubeconfig, kubeconfigYaml(kc.getCurrentCluster()!.server, user.name, user.token!), {
      mode: 0o600,
    });
    const bundle = path.join(store.root, 'workflow-bundle.js');
    const { code } = await bundleWorkflowCode({
      workflowsPath: path.join(import.meta.dirname, 'fixtures', 'gpu-workflow.ts'),
      logger: undefined,
    });
    await writeFile(bundle, code);
    const args = [env.address, 'llamaduo-gpu-test', kubeconfig, store.root, bundle];

    // Two workers from the start: the one that takes the activity is killed, the other adopts the Job while it
    // still runs (trainer:slower runs 25 s), without waiting for a worker to boot after the crash.
    const workers = [await startWorker(args), await startWorker(args)];
    const handle = await env.client.workflow.start('fineTuneOnce', {
      taskQueue: 'llamaduo-gpu-test',
      workflowId: `wf-${migrationId}`,
      args: [input],
    });
    await waitFor(
      'the Job running',
      async () =>
        (await podsOf(`llamaduo-${migrationId}-c0-finetune`)).some((p) => p.status?.phase === 'Running'),
      60_000,
    );
    const holder = (await handle.describe()).raw.pendingActivities?.[0]?.lastWorkerIdentity ?? '';
    const first = workers.find((w) => holder.startsWith(`${w.pid}@`));
    assert.ok(first, `the activity runs on one of the two workers (${holder})`);
    const second = workers.find((w) => w !== first)!;
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    const job = `llamaduo-${migrationId}-c0-finetune`;
    const keys = stepKeys({ migrationId, cycle: 0, step: 'finetune' });
    assert.equal(await store.find(keys.result), null, 'nothing finished yet: the retry has to adopt');

    try {
      // The retried attempt finds the Job still running and adopts it (its heartbeat says so) ...
      let adopted: GpuProgress | undefined;
      await waitFor(
        'the retried attempt adopting the running Job',
        async () => {
          const pending = (await handle.describe()).raw.pendingActivities?.[0];
          const details = pending?.heartbeatDetails?.payloads?.[0];
          const beat = details ? (defaultPayloadConverter.fromPayload(details) as GpuProgress) : undefined;
          if ((pending?.attempt ?? 1) >= 2 && beat?.origin === 'adopted') adopted = beat;
          return adopted !== undefined;
        },
        60_000,
      );
      assert.equal(adopted!.name, job);
      const pods = await podsOf(job);
      assert.ok(
        pods.some((p) => p.status?.phase === 'Running'),
        `the Job was still running when adopted: ${pods.map((p) => p.status?.phase).join(', ')}`,
      );
      // ... and the trainer in the (fake) pod writes its outputs to the shared volume before it exits.
      await mkdir(store.path(`${keys.output}/adapter`), { recursive: true });
      await writeFile(store.path(`${keys.output}/adapter/adapter_model.safetensors`), 'weights');
      await store.writeJson(keys.result, {
        schemaVersion: 1,
        command: 'finetune',
        status: 'succeeded',
        outputs: { adapterDir: `/artifacts/${keys.output}/adapter` },
        method: 'qlora',
        metrics: { trainLoss: 0.9 },
        durations: { totalSeconds: 20 },
      });
      const res = (await handle.result()) as FineTuneResult;
      assert.equal(res.adapter.uri, `artifact://${keys.output}/adapter`);
      assert.equal(res.trainLoss, 0.9);
      const jobs = await jobsOf(migrationId);
      assert.equal(jobs.length, 1, 'exactly one Job');
      assert.equal((await podsOf(jobs[0]!.metadata!.name!)).length, 1, 'which ran once');
      const history = await handle.fetchHistory();
      const started = history.events!.find(
        (e) => e.activityTaskStartedEventAttributes,
      )!.activityTaskStartedEventAttributes!;
      assert.ok(
        (started.attempt ?? 1) >= 2 || started.lastFailure,
        'the activity was retried after the crash',
      );
    } finally {
      second.kill('SIGTERM');
    }
  }
}
