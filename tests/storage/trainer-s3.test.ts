// The real trainer (CPU, builtin tiny model) with everything in S3: the GPU activities write the spec to
// the store, the local backend starts `python -m llamaduo_trainer` in an empty working directory, the
// trainer downloads its inputs, uploads outputs with result.json last, and the activities reference the
// outputs in S3. A SIGTERM'd fine-tune resumes from its last committed S3 checkpoint on a fresh machine.
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { createGpuActivities } from '../../activities/gpu/activities';
import { createLocalBackend } from '../../activities/gpu/local-backend';
import { stepKeys } from '../../activities/gpu/names';
import { GenerationRecord, TrainerResult } from '../../activities/gpu/trainer-contract';
import { S3ArtifactStore } from '../../activities/store/s3-store';
import { GpuBackendConfig, InferenceConfig, TrainerConfig } from '../../common/config';
import type { ExportAdapterResult, FineTuneResult, GenerateResult } from '../../common/types';
import { clientAs, newBucket, s3Env } from './env';

const REPO = path.resolve(import.meta.dirname, '..', '..');
const PYTHON = path.join(process.env.LLAMADUO_TOOLS ?? path.join(REPO, '.tools'), 'venv', 'bin', 'python');
const TINY = 'builtin:tiny-random-llama';
const WORDS = ['apple', 'banana', 'cherry', 'delta', 'echo', 'falcon', 'grape', 'hotel'];

function records(n: number, offset = 0) {
  return Array.from({ length: n }, (_, i) => {
    const w = WORDS[(i * 5 + offset) % WORDS.length]!;
    return {
      id: `r${offset + i}`,
      category: 'closed_qa',
      instruction: `first letter of ${w}`,
      context: '',
      response: w[0]!.repeat(2),
    };
  });
}

let bucket: string;
let store: S3ArtifactStore;
let scratch: string;
/** the worker's working directory: holds no inputs */
let cwd: string;

before(async () => {
  bucket = await newBucket('trainer');
  store = new S3ArtifactStore(`s3://${bucket}/artifacts`, { client: clientAs() });
  scratch = await mkdtemp(path.join(tmpdir(), 'llamaduo-trainer-s3-'));
  cwd = path.join(scratch, 'cwd');
  await import('node:fs/promises').then((fs) => fs.mkdir(cwd));
});
after(() => rm(scratch, { recursive: true, force: true }));

const trainerEnv = () => ({
  ...s3Env(),
  PYTHONPATH: path.join(REPO, 'k8s', 'trainer'),
  LLAMADUO_WORK_DIR: path.join(scratch, 'trainer-work'),
});

describe('trainer with inputs and outputs only in S3', () => {
  it('fine-tunes, generates and exports the adapter through the GPU activities and the local backend', async () => {
    const gpu = GpuBackendConfig.parse({ kind: 'local', device: 'cpu' });
    const activities = createGpuActivities({
      store,
      backendFor: () =>
        createLocalBackend({
          store,
          config: { ...(gpu as Extract<typeof gpu, { kind: 'local' }>), python: PYTHON },
          env: trainerEnv(),
          runStateDir: path.join(scratch, 'gpu-runs'),
          pollIntervalMs: 200,
        }),
    });
    const env = new MockActivityEnvironment(
      { heartbeatTimeoutMs: 600_000 },
      { logger: new DefaultLogger('ERROR') },
    );
    const train = await store.writeJsonl('m1/data/train.jsonl', records(16));
    const test = await store.writeJsonl('m1/data/test.jsonl', records(3, 3));
    const prevCwd = process.cwd();
    process.chdir(cwd);
    let tuned: FineTuneResult;
    let generated: GenerateResult;
    let exported: ExportAdapterResult;
    try {
      tuned = (await env.run(activities.fineTune, {
        migrationId: 'm1',
        cycle: 1,
        baseModel: TINY,
        trainer: TrainerConfig.parse({
          method: 'lora',
          maxSeqLength: 64,
          batchSize: 4,
          gradientAccumulation: 1,
          learningRate: 1e-2,
        }),
        datasets: [train],
        samples: 16,
        lora: { rank: 8, alpha: 16 },
        gpu,
      })) as FineTuneResult;
      generated = (await env.run(activities.generate, {
        migrationId: 'm1',
        cycle: 1,
        baseModel: TINY,
        adapter: tuned.adapter,
        test,
        inference: InferenceConfig.parse({ responsesPerPrompt: 2, maxNewTokens: 6 }),
        gpu,
      })) as GenerateResult;
      exported = (await env.run(activities.exportAdapter, {
        migrationId: 'm1',
        cycle: 1,
        baseModel: TINY,
        adapter: tuned.adapter,
        merged: true,
        gguf: true,
        gpu,
      })) as ExportAdapterResult;
    } finally {
      process.chdir(prevCwd);
    }
    const finetuneKeys = stepKeys({ migrationId: 'm1', cycle: 1, step: 'finetune' });
    assert.equal(tuned.adapter.uri, `artifact://${finetuneKeys.output}/adapter`);
    const adapterFiles = await store.list(`${finetuneKeys.output}/adapter`);
    assert.ok(
      adapterFiles.some((f) => f.endsWith('/adapter_config.json')),
      adapterFiles.join(', '),
    );
    assert.ok(
      adapterFiles.some((f) => f.endsWith('.safetensors')),
      adapterFiles.join(', '),
    );
    // Every object the trainer uploaded carries the sha256 the store references it by.
    for (const f of adapterFiles) {
      const head = await clientAs().send(new HeadObjectCommand({ Bucket: bucket, Key: `artifacts/${f}` }));
      assert.match(head.Metadata?.sha256 ?? '', /^[0-9a-f]{64}$/, f);
    }
    const manifest = TrainerResult.parse(await store.readJson(finetuneKeys.result));
    assert.equal(manifest.status, 'succeeded');
    assert.equal(
      (manifest as { outputs: { adapterDir?: string } }).outputs.adapterDir,
      `s3://${bucket}/artifacts/${finetuneKeys.output}/adapter`,
    );
    const spec = await store.readJson<{ datasets: string[] }>(finetuneKeys.spec);
    assert.deepEqual(spec.datasets, [`s3://${bucket}/artifacts/m1/data/train.jsonl`]);

    // the export step downloaded the adapter from S3 and uploaded merged weights, GGUF and Modelfile
    const exportKeys = stepKeys({ migrationId: 'm1', cycle: 1, step: 'export' });
    assert.equal(exported.merged?.uri, `artifact://${exportKeys.output}/merged`);
    assert.equal(exported.modelfile?.uri, `artifact://${exportKeys.output}/gguf/Modelfile`);
    assert.match(exported.gguf?.uri ?? '', /\/gguf\/tiny-random-llama-llamaduo\.gguf$/);
    assert.ok((await store.list(`${exportKeys.output}/merged`)).some((k) => k.endsWith('model.safetensors')));
    const exportSpec = await store.readJson<{ adapterDir: string }>(exportKeys.spec);
    assert.equal(exportSpec.adapterDir, `s3://${bucket}/artifacts/${finetuneKeys.output}/adapter`);
    assert.equal(TrainerResult.parse(await store.readJson(exportKeys.result)).command, 'export');

    assert.equal(generated.generations.count, 6);
    const rows = await store.readAllJsonl(generated.generations.uri);
    assert.equal(rows.length, 6);
    for (const r of rows) GenerationRecord.parse(r);
    assert.deepEqual([...new Set(rows.map((r) => (r as { promptId: string }).promptId))].sort(), [
      'r3',
      'r4',
      'r5',
    ]);
    // Nothing landed on the worker's disk: not in its working directory, not in the trainer's work folder.
    assert.deepEqual(await readdir(cwd), []);
    assert.deepEqual(await readdir(path.join(scratch, 'trainer-work')), []);
  });

  it('resumes from the last committed S3 checkpoint after a SIGTERM, on a fresh work folder', async () => {
    await store.writeJsonl('m2/data/train.jsonl', records(24));
    const out = `s3://${bucket}/artifacts/m2/cycle-1/finetune/out`;
    const spec = {
      baseModel: TINY,
      datasets: [`s3://${bucket}/artifacts/m2/data/train.jsonl`],
      outputDir: out,
      method: 'lora',
      train: {
        maxSteps: 400,
        checkpointEverySteps: 2,
        maxSeqLength: 64,
        batchSize: 2,
        gradientAccumulation: 1,
        learningRate: 1e-2,
      },
      device: 'cpu',
    };
    await store.writeJson('m2/cycle-1/finetune/spec.json', spec);
    const specUri = `s3://${bucket}/artifacts/m2/cycle-1/finetune/spec.json`;

    const first = await runTrainer(specUri, 'first', (event, stop) => {
      if (event.event === 'checkpoint' && (event.step as number) >= 4) stop();
    });
    assert.equal(first.code, 3, first.stderr);
    const preempted = TrainerResult.parse(await store.readJson('m2/cycle-1/finetune/out/result.json'));
    assert.equal(preempted.status, 'preempted');
    const saved = first.events.filter((e) => e.event === 'checkpoint').map((e) => e.step as number);
    const last = Math.max(...saved);
    const committed = await store.list('m2/cycle-1/finetune/out/checkpoints');
    assert.ok(
      committed.includes(`m2/cycle-1/finetune/out/checkpoints/step-${pad(last)}/manifest.json`),
      committed.join(),
    );
    // Older checkpoints are pruned to the last two, like on a volume.
    assert.ok(committed.filter((k) => k.endsWith('/manifest.json')).length <= 2, committed.join());

    // A later, uncommitted checkpoint (upload cut short: no manifest) must not be trusted.
    await clientAs().send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: `artifacts/m2/cycle-1/finetune/out/checkpoints/step-${pad(last + 50)}/trainer_state.pt`,
        Body: 'half a checkpoint',
      }),
    );

    const second = await runTrainer(specUri, 'second', (event, stop) => {
      if (event.event === 'progress' && (event.step as number) >= last + 2) stop();
    });
    assert.equal(second.code, 3, second.stderr);
    const resume = second.events.find((e) => e.event === 'resume');
    assert.ok(resume, second.stderr);
    assert.equal(resume.step, last);
    const progress = second.events.filter((e) => e.event === 'progress');
    assert.equal(progress[0]!.step, last + 1, 'training continued after the checkpoint, not from step 1');
  });

  it('takes its base model from an s3:// prefix (the merged weights a fine-tune uploaded)', async () => {
    const base = `s3://${bucket}/artifacts/m3`;
    await store.writeJsonl('m3/data/train.jsonl', records(8));
    await store.writeJsonl('m3/data/test.jsonl', records(2, 5));
    await store.writeJson('m3/finetune/spec.json', {
      baseModel: TINY,
      datasets: [`${base}/data/train.jsonl`],
      outputDir: `${base}/finetune/out`,
      method: 'lora',
      mergeWeights: true,
      train: { maxSteps: 1, maxSeqLength: 64, batchSize: 4, gradientAccumulation: 1 },
      device: 'cpu',
    });
    const tuned = await runTrainer(`${base}/finetune/spec.json`, 'merge');
    assert.equal(tuned.code, 0, tuned.stderr);
    const result = (await store.readJson('m3/finetune/out/result.json')) as {
      outputs: { mergedDir?: string };
    };
    assert.equal(result.outputs.mergedDir, `${base}/finetune/out/merged`);
    assert.ok((await store.list('m3/finetune/out/merged')).some((k) => k.endsWith('config.json')));

    await store.writeJson('m3/generate/spec.json', {
      baseModel: result.outputs.mergedDir,
      prompts: `${base}/data/test.jsonl`,
      outputDir: `${base}/generate/out`,
      sampling: { responsesPerPrompt: 1, maxNewTokens: 4, temperature: 0 },
      device: 'cpu',
    });
    const gen = await runTrainer(`${base}/generate/spec.json`, 'from-s3-model', undefined, 'generate');
    assert.equal(gen.code, 0, gen.stderr);
    const manifest = TrainerResult.parse(await store.readJson('m3/generate/out/result.json'));
    assert.equal((manifest as { baseModel: string }).baseModel, result.outputs.mergedDir);
    assert.equal((await store.find('m3/generate/out/generations.jsonl'))!.count, 2);
  });

  it('exits 2 (not retried) naming the URI for a missing bucket or rejected credentials', async () => {
    const missing = await runTrainer('s3://no-such-bucket-llamaduo/m1/spec.json', 'no-bucket');
    assert.equal(missing.code, 2, missing.stderr);
    assert.match(missing.stderr, /s3:\/\/no-such-bucket-llamaduo\/m1\/spec\.json: .*bucket does not exist/);
    const spec = `s3://${bucket}/artifacts/m2/cycle-1/finetune/spec.json`;
    const wrong = await runTrainer(spec, 'bad-secret', undefined, 'finetune', {
      AWS_SECRET_ACCESS_KEY: 'not-the-secret-0000',
    });
    assert.equal(wrong.code, 2, wrong.stderr);
    assert.match(wrong.stderr, /credentials were rejected/);
    assert.ok(!wrong.stderr.includes('not-the-secret-0000'), 'the secret is not echoed');
  });
});

function pad(n: number): string {
  return String(n).padStart(8, '0');
}

interface Run {
  code: number | null;
  events: Record<string, unknown>[];
  stderr: string;
}

/** Runs the trainer CLI in an empty directory with its own fresh work folder (a new node, in effect). */
async function runTrainer(
  specUri: string,
  name: string,
  onEvent: (e: Record<string, unknown>, stop: () => void) => void = () => {},
  command: 'finetune' | 'generate' = 'finetune',
  extraEnv: Record<string, string> = {},
): Promise<Run> {
  const dir = path.join(scratch, `node-${name}`);
  await import('node:fs/promises').then((fs) => fs.mkdir(dir, { recursive: true }));
  const child = spawn(PYTHON, ['-m', 'llamaduo_trainer', command, '--spec', specUri], {
    cwd: dir,
    env: { ...process.env, ...trainerEnv(), LLAMADUO_WORK_DIR: path.join(dir, 'work'), ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const events: Record<string, unknown>[] = [];
  let stopped = false;
  const stop = () => {
    if (!stopped) child.kill('SIGTERM');
    stopped = true;
  };
  for await (const line of createInterface({ input: child.stdout })) {
    if (!line.startsWith('{')) continue;
    const e = JSON.parse(line) as Record<string, unknown>;
    events.push(e);
    onEvent(e, stop);
  }
  const code = await new Promise<number | null>((r) =>
    child.exitCode !== null ? r(child.exitCode) : child.once('exit', r),
  );
  return { code, events, stderr };
}
