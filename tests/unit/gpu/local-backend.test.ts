// The local-process backend through the real activity functions and Temporal's activity context: the
// trainer is a real child process (fixtures/fake-trainer.mjs) honouring the spec/result.json contract.
import { strict as assert } from 'node:assert';
import { readFile, writeFile, mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ActivityCancellationDetails, ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { createGpuActivities } from '../../../activities/gpu/activities';
import { createLocalBackend } from '../../../activities/gpu/local-backend';
import type { GpuProgress } from '../../../activities/gpu/backend';
import { isAlive, readRecord } from '../../../activities/gpu/local-process';
import type { LocalArtifactStore } from '../../../activities/store/local-store';
import { FinetuneSpec, GenerateSpec } from '../../../activities/gpu/trainer-contract';
import type { GpuActivities } from '../../../common/activities';
import { InferenceConfig, TrainerConfig } from '../../../common/config';
import type { FineTuneInput, FineTuneResult, GenerateInput, GenerateResult } from '../../../common/types';
import { FAKE_TRAINER, fineTuneInput, generateInput, tempStore } from './helpers';

function activities(store: LocalArtifactStore, mode: string, ms = 200) {
  return createGpuActivities({
    store,
    backendFor: (gpu) => {
      assert.equal(gpu.kind, 'local');
      return createLocalBackend({
        store,
        config: gpu as Extract<typeof gpu, { kind: 'local' }>,
        command: [process.execPath, FAKE_TRAINER],
        env: { FAKE_TRAINER_MODE: mode, FAKE_TRAINER_MS: String(ms) },
        pollIntervalMs: 50,
        killGraceMs: 2000,
      });
    },
  });
}

const fineTune = (env: MockActivityEnvironment, acts: GpuActivities, input: FineTuneInput) =>
  env.run(acts.fineTune, input) as Promise<FineTuneResult>;
const generate = (env: MockActivityEnvironment, acts: GpuActivities, input: GenerateInput) =>
  env.run(acts.generate, input) as Promise<GenerateResult>;

function recordingEnv() {
  const env = new MockActivityEnvironment(
    { heartbeatTimeoutMs: 60_000 },
    { logger: new DefaultLogger('ERROR') },
  );
  const beats: GpuProgress[] = [];
  env.on('heartbeat', (d: GpuProgress) => beats.push(d));
  return { env, beats };
}

async function starts(
  store: LocalArtifactStore,
  migrationId: string,
  step: string,
  cycle = 0,
): Promise<string[]> {
  const text = await readFile(store.path(`${migrationId}/cycle-${cycle}/${step}/starts.log`), 'utf8').catch(
    () => '',
  );
  return text.trim().split('\n').filter(Boolean);
}

async function waitFor(cond: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function failureOf(p: Promise<unknown>): Promise<ApplicationFailure> {
  const err = await p.then(
    () => assert.fail('expected the activity to fail'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof ApplicationFailure, `expected ApplicationFailure, got ${String(err)}`);
  return err;
}

describe('local GPU backend', () => {
  it('fine-tunes through the spec/result contract and reuses a finished step', async () => {
    const store = await tempStore();
    const { env, beats } = recordingEnv();
    const input = await fineTuneInput(store, 'm-ok');
    const res = await fineTune(env, activities(store, 'ok'), input);
    assert.equal(res.adapter.uri, 'artifact://m-ok/cycle-0/finetune/out/adapter');
    assert.match(res.adapter.sha256, /^[0-9a-f]{64}$/);
    assert.equal(res.method, 'lora');
    assert.equal(res.trainLoss, 1.25);
    assert.deepEqual(await store.readJson(`${res.adapter.uri}/adapter_config.json`), {
      r: 8,
      lora_alpha: 16,
    });
    const spec = await store.readJson<Record<string, unknown>>('m-ok/cycle-0/finetune/spec.json');
    assert.deepEqual(spec.datasets, [store.path('m-ok/data/train.jsonl')]);
    assert.equal(spec.outputDir, store.path('m-ok/cycle-0/finetune/out'));
    assert.deepEqual(spec.lora, { rank: 8, alpha: 16, dropout: 0.05 });
    assert.equal(spec.device, 'cpu');
    assert.ok(
      beats.some((b) => b.phase === 'running' && b.backend === 'local'),
      'heartbeats while running',
    );

    const again = await fineTune(env, activities(store, 'ok'), input);
    assert.deepEqual(again.adapter, res.adapter);
    assert.equal((await starts(store, 'm-ok', 'finetune')).length, 1, 'a finished step is not run again');
  });

  it('generates one output line per test prompt', async () => {
    const store = await tempStore();
    const { env } = recordingEnv();
    const res = await generate(env, activities(store, 'ok'), await generateInput(store, 'm-gen'));
    assert.equal(res.generations.count, 9, '3 prompts x responsesPerPrompt 3');
    const spec = await store.readJson<{ adapterDir: string; prompts: string }>(
      'm-gen/cycle-1/generate/spec.json',
    );
    assert.equal(spec.prompts, store.path('m-gen/data/test.jsonl'));
    assert.equal(res.tokensPerSecond, 100);
  });

  it('passes the fast-path options of the migration config into the specs, defaults when absent', async () => {
    const store = await tempStore();
    const { env } = recordingEnv();
    const base = await fineTuneInput(store, 'm-fast');
    const trainer = TrainerConfig.parse({
      attnImplementation: 'flash_attention_2',
      kernels: 'liger',
      compileLayers: true,
    });
    await fineTune(env, activities(store, 'ok'), { ...base, trainer });
    const spec = await store.readJson<Record<string, unknown>>('m-fast/cycle-0/finetune/spec.json');
    assert.equal(spec.attnImplementation, 'flash_attention_2');
    assert.equal(spec.kernels, 'liger');
    assert.equal(spec.compileLayers, true);
    assert.doesNotThrow(() => FinetuneSpec.parse(spec), 'the spec keeps to the trainer contract');

    const gen = await generateInput(store, 'm-fast-gen');
    await generate(env, activities(store, 'ok'), {
      ...gen,
      inference: InferenceConfig.parse({ engine: 'vllm' }),
    });
    const gspec = await store.readJson<Record<string, unknown>>('m-fast-gen/cycle-1/generate/spec.json');
    assert.equal(gspec.engine, 'vllm');
    assert.equal(
      (gspec.sampling as Record<string, unknown>).engine,
      undefined,
      'engine is not a sampling field',
    );
    assert.doesNotThrow(() => GenerateSpec.parse(gspec), 'the spec keeps to the trainer contract');

    // A migration started before these options existed carries a config without them.
    const { kernels: _k, compileLayers: _c, attnImplementation: _a, ...oldTrainer } = TrainerConfig.parse({});
    const { engine: _e, ...oldInference } = InferenceConfig.parse({});
    await fineTune(env, activities(store, 'ok'), {
      ...(await fineTuneInput(store, 'm-old')),
      trainer: oldTrainer as TrainerConfig,
    });
    const old = await store.readJson<Record<string, unknown>>('m-old/cycle-0/finetune/spec.json');
    assert.deepEqual([old.attnImplementation, old.kernels, old.compileLayers], ['sdpa', 'none', false]);
    await generate(env, activities(store, 'ok'), {
      ...(await generateInput(store, 'm-old-gen')),
      inference: oldInference as GenerateInput['inference'],
    });
    const oldGen = await store.readJson<Record<string, unknown>>('m-old-gen/cycle-1/generate/spec.json');
    assert.equal(oldGen.engine, 'transformers');
  });

  it('classifies CUDA out of memory from the log as non-retryable, with the log tail', async () => {
    const store = await tempStore();
    const { env } = recordingEnv();
    const f = await failureOf(
      fineTune(env, activities(store, 'cuda-oom'), await fineTuneInput(store, 'm-oom')),
    );
    assert.equal(f.type, 'GpuJobCudaOutOfMemory');
    assert.equal(f.nonRetryable, true);
    assert.match(f.message, /CUDA out of memory\. Tried to allocate/);
  });

  it('classifies bad spec (exit 2), preempted (exit 3) and a plain crash differently', async () => {
    const store = await tempStore();
    const { env } = recordingEnv();
    const rejected = await failureOf(
      fineTune(env, activities(store, 'reject'), await fineTuneInput(store, 'm-rej')),
    );
    assert.equal(rejected.type, 'GpuJobRejected');
    assert.equal(rejected.nonRetryable, true);
    const preempted = await failureOf(
      fineTune(env, activities(store, 'preempt'), await fineTuneInput(store, 'm-pre')),
    );
    assert.equal(preempted.type, 'GpuTrainerPreempted');
    assert.equal(preempted.nonRetryable, false);
    const crashed = await failureOf(
      fineTune(env, activities(store, 'crash'), await fineTuneInput(store, 'm-crash')),
    );
    assert.equal(crashed.type, 'GpuTrainerCrashed');
    assert.equal(crashed.nonRetryable, false);
    assert.match(crashed.message, /Segmentation fault/);
  });

  it('kills the process tree when the activity is cancelled', async () => {
    const store = await tempStore();
    const { env, beats } = recordingEnv();
    const run = fineTune(env, activities(store, 'hang'), await fineTuneInput(store, 'm-cancel'));
    await waitFor(async () => beats.some((b) => b.phase === 'running'));
    const rec = await readRecord(store.path('m-cancel/cycle-0/finetune/run'));
    assert.ok(rec && (await isAlive(rec)));
    env.cancel('CANCELLED', new ActivityCancellationDetails({ cancelRequested: true }));
    await assert.rejects(run, (e: unknown) => e instanceof CancelledFailure);
    await waitFor(async () => !(await isAlive(rec!)));
  });

  it('leaves the process running on worker shutdown and the next attempt adopts it', async () => {
    const store = await tempStore();
    const first = recordingEnv();
    const input = await fineTuneInput(store, 'm-adopt');
    const run = fineTune(first.env, activities(store, 'ok', 1500), input);
    await waitFor(async () => first.beats.some((b) => b.phase === 'running'));
    first.env.cancel('WORKER_SHUTDOWN', new ActivityCancellationDetails({ workerShutdown: true }));
    await assert.rejects(run);
    const rec = await readRecord(store.path('m-adopt/cycle-0/finetune/run'));
    assert.ok(rec && (await isAlive(rec)), 'the trainer outlives the stopped attempt');

    const second = recordingEnv();
    const res = await fineTune(second.env, activities(store, 'ok'), input);
    assert.equal(second.beats[0]?.origin, 'adopted');
    assert.equal(res.adapter.uri, 'artifact://m-adopt/cycle-0/finetune/out/adapter');
    assert.equal((await starts(store, 'm-adopt', 'finetune')).length, 1, 'exactly one trainer process ran');
  });

  it('adopts a trainer whose worker died before writing pid.json (the shell recorded its own pid)', async () => {
    const store = await tempStore();
    const first = recordingEnv();
    const input = await fineTuneInput(store, 'm-early-kill');
    const run = fineTune(first.env, activities(store, 'ok', 1500), input);
    await waitFor(async () => first.beats.some((b) => b.phase === 'running'));
    first.env.cancel('WORKER_SHUTDOWN', new ActivityCancellationDetails({ workerShutdown: true }));
    await assert.rejects(run);
    // as if SIGKILL had come between starting the shell and writing pid.json
    const dir = store.path('m-early-kill/cycle-0/finetune/run');
    await rm(path.join(dir, 'pid.json'));
    const rec = await readRecord(dir);
    assert.ok(rec && (await isAlive(rec)), "the shell's own pid names the running trainer");

    const second = recordingEnv();
    await fineTune(second.env, activities(store, 'ok'), input);
    assert.equal(second.beats[0]?.origin, 'adopted');
    assert.equal(
      (await starts(store, 'm-early-kill', 'finetune')).length,
      1,
      'exactly one trainer process ran',
    );
  });

  it('restarts cleanly when the recorded process is gone without an exit code', async () => {
    const store = await tempStore();
    const input = await fineTuneInput(store, 'm-restart');
    const dir = store.path('m-restart/cycle-0/finetune/run');
    await mkdir(dir, { recursive: true });
    // a pid from a previous boot: pid 1 exists but its start time does not match
    await writeFile(
      path.join(dir, 'pid.json'),
      JSON.stringify({ pid: 1, startTicks: '1', startedAt: '2020-01-01T00:00:00Z' }),
    );
    await writeFile(store.path('m-restart/cycle-0/finetune/stale-output'), 'x').catch(() => {});
    const { env, beats } = recordingEnv();
    const res = await fineTune(env, activities(store, 'ok'), input);
    assert.equal(beats[0]?.origin, 'recreated');
    assert.ok(res.adapter.bytes > 0);
  });
});
