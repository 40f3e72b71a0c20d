// A GGUF base model through the code a cluster runs: the demo's SmolLM2-135M-Instruct GGUF (Q4_1, installed
// by scripts/setup-demo-model.sh) is put in the S3 store (SeaweedFS) the way `aws s3 cp` would (no sha256 in
// its metadata) and named as `baseModel: s3://…/x.gguf`;
// the GPU activities write the specs to the store and the local backend starts the real trainer (CPU). The
// fine-tune dequantizes the file through transformers' GGUF support and caches the result once under
// `_models/gguf/<sha256 of the file>/`; the generate step reads that entry and never dequantizes again.
import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { createGpuActivities, MODEL_CACHE_KEY } from '../../activities/gpu/activities';
import { createLocalBackend } from '../../activities/gpu/local-backend';
import { stepKeys } from '../../activities/gpu/names';
import { GenerationRecord } from '../../activities/gpu/trainer-contract';
import { S3ArtifactStore } from '../../activities/store/s3-store';
import { GpuBackendConfig, InferenceConfig, TrainerConfig } from '../../common/config';
import type { FineTuneResult, GenerateResult } from '../../common/types';
import { clientAs, newBucket, s3Env } from './env';

const REPO = path.resolve(import.meta.dirname, '..', '..');
const TOOLS = process.env.LLAMADUO_TOOLS ?? path.join(REPO, '.tools');
const PYTHON = path.join(TOOLS, 'venv', 'bin', 'python');
const GGUF = path.join(TOOLS, 'demo-model', 'SmolLM2-135M-Instruct.Q4_1.gguf');

const records = (n: number, offset = 0) =>
  Array.from({ length: n }, (_, i) => ({
    id: `g${offset + i}`,
    category: 'closed_qa',
    instruction: `Say the number ${offset + i}.`,
    context: '',
    response: String(offset + i),
  }));

let bucket: string;
let store: S3ArtifactStore;
let scratch: string;
let ggufSha: string;

before(async () => {
  assert.ok(existsSync(GGUF), `${GGUF}: run scripts/setup.sh first (scripts/setup-demo-model.sh)`);
  bucket = await newBucket('gguf');
  store = new S3ArtifactStore(`s3://${bucket}/artifacts`, { client: clientAs() });
  scratch = await mkdtemp(path.join(tmpdir(), 'llamaduo-gguf-'));
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(GGUF)) hash.update(chunk as Buffer);
  ggufSha = hash.digest('hex');
});
after(() => rm(scratch, { recursive: true, force: true }));

describe('a GGUF base model in object storage', () => {
  it('fine-tunes and generates `s3://…/x.gguf`: dequantized once, cached by the file sha256, read back from the cache', async () => {
    // Uploaded as `aws s3 cp` would: no sha256 in the object's metadata.
    await clientAs().send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: 'artifacts/models/SmolLM2-135M-Instruct.Q4_1.gguf',
        Body: await readFile(GGUF),
      }),
    );
    const baseModel = `s3://${bucket}/artifacts/models/SmolLM2-135M-Instruct.Q4_1.gguf`;
    const gpu = GpuBackendConfig.parse({ kind: 'local', device: 'cpu', python: PYTHON });
    const runStateDir = path.join(scratch, 'gpu-runs');
    const acts = createGpuActivities({
      store,
      backendFor: () =>
        createLocalBackend({
          store,
          config: gpu as Extract<typeof gpu, { kind: 'local' }>,
          env: {
            ...s3Env(),
            PYTHONPATH: path.join(REPO, 'k8s', 'trainer'),
            LLAMADUO_WORK_DIR: path.join(scratch, 'trainer-work'),
            HF_HOME: path.join(scratch, 'hf-home'),
            HF_HUB_OFFLINE: '1',
          },
          runStateDir,
          pollIntervalMs: 200,
        }),
    });
    const env = new MockActivityEnvironment(
      { heartbeatTimeoutMs: 600_000 },
      { logger: new DefaultLogger('ERROR') },
    );
    const trainerLog = (step: 'finetune' | 'generate') =>
      readFile(
        path.join(runStateDir, stepKeys({ migrationId: 'g1', cycle: 0, step }).dir, 'run', 'trainer.log'),
        'utf8',
      );

    const train = await store.writeJsonl('g1/data/train.jsonl', records(4));
    const test = await store.writeJsonl('g1/data/test.jsonl', records(2, 10));
    const tuned = (await env.run(acts.fineTune, {
      migrationId: 'g1',
      cycle: 0,
      baseModel,
      trainer: TrainerConfig.parse({
        method: 'lora',
        maxSeqLength: 64,
        batchSize: 4,
        gradientAccumulation: 1,
        epochs: 1,
      }),
      datasets: [train],
      samples: 4,
      lora: { rank: 4, alpha: 8 },
      gpu,
    })) as FineTuneResult;
    const revision = `sha256:${ggufSha}`;
    const finetuneResult = await store.readJson<{
      status: string;
      baseModel: string;
      baseModelRevision: string;
    }>(stepKeys({ migrationId: 'g1', cycle: 0, step: 'finetune' }).result);
    assert.equal(finetuneResult.status, 'succeeded');
    assert.equal(finetuneResult.baseModel, baseModel);
    assert.equal(finetuneResult.baseModelRevision, revision);
    const tuneLog = await trainerLog('finetune');
    assert.match(tuneLog, /dequantized in \d+s/);
    assert.match(tuneLog, /carries no sha256; downloading it to hash it/);

    // The dequantized model is one committed cache entry, keyed by the file's sha256.
    const entry = `${MODEL_CACHE_KEY}/gguf/${ggufSha}`;
    const manifest = await store.readJson<{
      source: string;
      revision: string;
      files: Record<string, { sha256: string; bytes: string }>;
    }>(`${entry}/manifest.json`);
    assert.equal(manifest.source, baseModel);
    assert.equal(manifest.revision, revision);
    assert.ok('model.safetensors' in manifest.files, Object.keys(manifest.files).join());
    assert.ok('tokenizer_config.json' in manifest.files, Object.keys(manifest.files).join());
    const weights = await clientAs().send(
      new HeadObjectCommand({ Bucket: bucket, Key: `artifacts/${entry}/model.safetensors` }),
    );
    assert.equal(weights.Metadata?.sha256, manifest.files['model.safetensors']!.sha256);
    // Full-precision weights: several times the 4-bit file.
    const ggufBytes = (
      await clientAs().send(
        new HeadObjectCommand({ Bucket: bucket, Key: 'artifacts/models/SmolLM2-135M-Instruct.Q4_1.gguf' }),
      )
    ).ContentLength!;
    assert.ok(Number(manifest.files['model.safetensors']!.bytes) > 3 * ggufBytes);
    const manifestModified = (
      await clientAs().send(
        new HeadObjectCommand({ Bucket: bucket, Key: `artifacts/${entry}/manifest.json` }),
      )
    ).LastModified;

    const generated = (await env.run(acts.generate, {
      migrationId: 'g1',
      cycle: 0,
      baseModel,
      adapter: tuned.adapter,
      test,
      inference: InferenceConfig.parse({ responsesPerPrompt: 1, temperature: 0, maxNewTokens: 4 }),
      gpu,
    })) as GenerateResult;
    const genLog = await trainerLog('generate');
    assert.match(genLog, /dequantized model from the cache at s3:\/\//);
    assert.doesNotMatch(genLog, /dequantized in/);
    // The file's hash came from the record the fine-tune left, not from downloading the file again.
    assert.match(genLog, new RegExp(`sha256 ${ggufSha} as recorded at s3://.*/gguf-sources/`));
    assert.doesNotMatch(genLog, /downloading it to hash it/);
    const after = await clientAs().send(
      new HeadObjectCommand({ Bucket: bucket, Key: `artifacts/${entry}/manifest.json` }),
    );
    assert.deepEqual(after.LastModified, manifestModified, 'the entry was not written again');
    assert.equal(generated.generations.count, 2);
    const rows = (await store.readAllJsonl(generated.generations.uri)).map((r) => GenerationRecord.parse(r));
    assert.deepEqual(rows.map((r) => r.promptId).sort(), ['g10', 'g11']);
    const genResult = await store.readJson<{ baseModelRevision: string }>(
      stepKeys({ migrationId: 'g1', cycle: 0, step: 'generate' }).result,
    );
    assert.equal(genResult.baseModelRevision, revision);
  });
});
