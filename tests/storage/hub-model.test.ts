// Base models from the Hugging Face Hub, through the code a cluster runs: the GPU activities write specs to
// the S3 store (SeaweedFS), the local backend starts the real trainer (CPU), and huggingface_hub downloads
// from a local server that speaks the Hub's API (tests/servers/hub-server.ts) serving the demo student
// (SmolLM2-135M in safetensors). The revision is resolved once per migration, the files are cached once in
// the store, and every error retrying cannot fix exits 2 naming the model and the fix.
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { createGpuActivities, MODEL_CACHE_KEY } from '../../activities/gpu/activities';
import { createLocalBackend } from '../../activities/gpu/local-backend';
import { stepKeys } from '../../activities/gpu/names';
import { S3ArtifactStore } from '../../activities/store/s3-store';
import { GpuBackendConfig, InferenceConfig, MigrationConfig, TrainerConfig } from '../../common/config';
import type { FineTuneResult, GenerateResult } from '../../common/types';
import { startHubServer, type StartedHubServer } from '../servers/hub-server';
import { clientAs, newBucket, s3Env } from './env';

const REPO = path.resolve(import.meta.dirname, '..', '..');
const TOOLS = process.env.LLAMADUO_TOOLS ?? path.join(REPO, '.tools');
const PYTHON = path.join(TOOLS, 'venv', 'bin', 'python');
const STUDENT = path.join(TOOLS, 'demo-student');
const FORKED = path.join(import.meta.dirname, 'trainer_cli_forked.py');
const MODEL = 'llamaduo-test/smol';
const TOKEN = 'hf_test_token_5b1d0c';

const records = (n: number, offset = 0) =>
  Array.from({ length: n }, (_, i) => ({
    id: `r${offset + i}`,
    category: 'closed_qa',
    instruction: `Say the number ${offset + i}.`,
    context: '',
    response: String(offset + i),
  }));

let bucket: string;
let store: S3ArtifactStore;
let hub: StartedHubServer;
let scratch: string;

before(async () => {
  assert.ok(existsSync(path.join(STUDENT, 'model.safetensors')), `${STUDENT}: run scripts/setup.sh first`);
  bucket = await newBucket('hub');
  store = new S3ArtifactStore(`s3://${bucket}/artifacts`, { client: clientAs() });
  scratch = await mkdtemp(path.join(tmpdir(), 'llamaduo-hub-'));
  hub = await startHubServer({
    repos: {
      [MODEL]: { dir: STUDENT },
      'llamaduo-test/gated': { dir: STUDENT, gated: true },
      'llamaduo-test/no-template': { dir: STUDENT, omit: ['chat_template.jinja'] },
    },
    tokens: [TOKEN],
    dropOnceFile: 'model.safetensors',
    failOnceFile: 'config.json',
  });
  // started now, so its torch import overlaps the first test
  forked = startForkedCli();
});
after(async () => {
  await forked?.close();
  await hub?.close();
  await rm(scratch, { recursive: true, force: true });
});

const trainerEnv = (extra: Record<string, string> = {}) => ({
  ...s3Env(),
  PYTHONPATH: path.join(REPO, 'k8s', 'trainer'),
  LLAMADUO_WORK_DIR: path.join(scratch, 'trainer-work'),
  HF_ENDPOINT: hub.url,
  // a private huggingface_hub cache, so nothing outside the test is read or written
  HF_HOME: path.join(scratch, 'hf-home'),
  HF_TOKEN: '',
  ...extra,
});

const cdnGets = () => hub.log.filter((r) => r.path.startsWith('/cdn/') && r.method === 'GET');
const revisionLookups = () => hub.log.filter((r) => /^\/api\/models\/.+\/revision\//.test(r.path));

function activities() {
  const gpu = GpuBackendConfig.parse({ kind: 'local', device: 'cpu', python: PYTHON });
  const acts = createGpuActivities({
    store,
    backendFor: () =>
      createLocalBackend({
        store,
        config: gpu as Extract<typeof gpu, { kind: 'local' }>,
        env: trainerEnv(),
        runStateDir: path.join(scratch, 'gpu-runs'),
        pollIntervalMs: 200,
      }),
  });
  const env = new MockActivityEnvironment(
    { heartbeatTimeoutMs: 600_000 },
    { logger: new DefaultLogger('ERROR') },
  );
  return { gpu, acts, env };
}

function runCli(spec: object, label: string, extraEnv: Record<string, string> = {}) {
  return (async () => {
    const file = path.join(scratch, `${label}.json`);
    await writeFile(file, JSON.stringify(spec));
    const child = spawn(PYTHON, ['-m', 'llamaduo_trainer', 'generate', '--spec', file], {
      env: { ...process.env, ...trainerEnv(extraEnv) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number>((resolve) => child.on('exit', (c) => resolve(c ?? 1)));
    return { code, stdout, stderr };
  })();
}

// The trainer CLI run by children forked from one Python process that imported torch once
// (trainer_cli_forked.py): the same main(), environment and exit code as `python -m llamaduo_trainer`, without
// a torch import per run. Runs go one at a time, so a test can read the Hub log between them.
function startForkedCli() {
  const child = spawn(PYTHON, [FORKED], {
    env: { ...process.env, ...trainerEnv() },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = new Promise<number>((resolve) => child.on('exit', (c) => resolve(c ?? 1)));
  let buffered = '';
  const waiting: ((line: string) => void)[] = [];
  child.stdout.on('data', (d: Buffer) => {
    buffered += d.toString();
    for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
      waiting.shift()?.(buffered.slice(0, nl));
      buffered = buffered.slice(nl + 1);
    }
  });
  let seq = 0;
  return {
    async run(spec: object, label: string, env: Record<string, string> = {}) {
      const file = path.join(scratch, `${label}.json`);
      await writeFile(file, JSON.stringify(spec));
      const out = path.join(scratch, `${label}-${seq++}`);
      const line = new Promise<string>((resolve, reject) => {
        waiting.push(resolve);
        void exited.then((c) => reject(new Error(`trainer_cli_forked.py exited ${c}`)));
      });
      child.stdin.write(
        JSON.stringify({
          argv: ['generate', '--spec', file],
          env,
          stdout: `${out}.stdout`,
          stderr: `${out}.stderr`,
        }) + '\n',
      );
      const { code } = JSON.parse(await line) as { code: number };
      return {
        code,
        stdout: await readFile(`${out}.stdout`, 'utf8'),
        stderr: await readFile(`${out}.stderr`, 'utf8'),
      };
    },
    async close() {
      child.stdin.end();
      assert.equal(await exited, 0, 'trainer_cli_forked.py failed');
    },
  };
}
let forked: ReturnType<typeof startForkedCli>;

describe('base models from the Hugging Face Hub API', () => {
  it('fine-tunes and generates `org/name@main`: resolved once, downloaded once (resumed, a 500 retried), cached in S3', async () => {
    const { gpu, acts, env } = activities();
    const sha = hub.commits[MODEL]!;
    const baseModel = `${MODEL}@main`;
    const train = await store.writeJsonl('m1/data/train.jsonl', records(4));
    const test = await store.writeJsonl('m1/data/test.jsonl', records(1, 10));
    const tuned = (await env.run(acts.fineTune, {
      migrationId: 'm1',
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

    // One revision lookup, recorded for the migration; the weights came in two pieces: the first GET was cut
    // halfway, the client resumed with a Range request.
    assert.equal(revisionLookups().length, 1, JSON.stringify(hub.log));
    assert.deepEqual(await store.readJson('m1/base-model.json'), {
      source: baseModel,
      repo: MODEL,
      revision: sha,
    });
    const weights = cdnGets();
    assert.equal(weights.length, 2, JSON.stringify(weights));
    assert.equal(weights[0]!.range, undefined);
    assert.match(weights[1]!.range ?? '', /^bytes=[1-9]\d*-$/);
    assert.ok(
      hub.log.every((r) => !r.path.startsWith('/cdn/') || !r.authorized),
      'no token sent to the CDN',
    );
    // The Hub answered 500 once for config.json: the trainer retried and went on.
    const faults = hub.log.filter((r) => r.status === 500);
    assert.equal(faults.length, 1, JSON.stringify(faults));
    assert.match(faults[0]!.path, /\/resolve\/[^/]+\/config\.json$/);
    assert.ok(
      hub.log.some((r) => r.path === faults[0]!.path && r.status === 200 && r.method === 'GET'),
      'config.json was fetched after the 500',
    );
    const entry = `${MODEL_CACHE_KEY}/hub/${MODEL}/${sha}`;
    const manifest = await store.readJson<{ revision: string; files: Record<string, { sha256: string }> }>(
      `${entry}/manifest.json`,
    );
    assert.equal(manifest.revision, sha);
    assert.ok('model.safetensors' in manifest.files && 'chat_template.jinja' in manifest.files);
    const tunedManifest = await store.readJson<{ baseModel: string; baseModelRevision: string }>(
      stepKeys({ migrationId: 'm1', cycle: 0, step: 'finetune' }).result,
    );
    assert.equal(tunedManifest.baseModel, baseModel);
    assert.equal(tunedManifest.baseModelRevision, sha);

    // The second step reads the pinned commit from the lock and the files from the store: no Hub traffic.
    const before = hub.log.length;
    const generated = (await env.run(acts.generate, {
      migrationId: 'm1',
      cycle: 0,
      baseModel,
      adapter: tuned.adapter,
      test,
      inference: InferenceConfig.parse({ responsesPerPrompt: 1, temperature: 0, maxNewTokens: 1 }),
      gpu,
    })) as GenerateResult;
    assert.deepEqual(hub.log.slice(before), [], 'the second step made no Hub request');
    assert.equal(generated.generations.count, 1);
    const genManifest = await store.readJson<{ baseModelRevision: string }>(
      stepKeys({ migrationId: 'm1', cycle: 0, step: 'generate' }).result,
    );
    assert.equal(genManifest.baseModelRevision, sha);
  });

  it('a commit sha needs no lookup and hits the cache; a gated model answers 401 without a token, 200 with it', async () => {
    const sha = hub.commits[MODEL]!;
    const prompts = path.join(scratch, 'prompts.jsonl');
    await writeFile(
      prompts,
      records(1, 20)
        .map((r) => JSON.stringify(r))
        .join('\n') + '\n',
    );
    const spec = (baseModel: string, label: string, cached = true) => ({
      baseModel,
      ...(cached
        ? {
            modelCache: `s3://${bucket}/artifacts/${MODEL_CACHE_KEY}`,
            baseModelLock: `s3://${bucket}/artifacts/${label}/base-model.json`,
          }
        : {}),
      prompts,
      outputDir: path.join(scratch, label, 'out'),
      sampling: { responsesPerPrompt: 1, temperature: 0, maxNewTokens: 1 },
      device: 'cpu',
    });
    const before = hub.log.length;
    const pinned = await forked.run(spec(`${MODEL}@${sha}`, 'pinned'), 'pinned');
    assert.equal(pinned.code, 0, pinned.stderr);
    assert.deepEqual(hub.log.slice(before), [], 'a pinned, cached model makes no Hub request');
    assert.match(pinned.stderr, /from the cache/);

    const gated = 'llamaduo-test/gated';
    const denied = await runCli(spec(gated, 'gated-denied', false), 'gated-denied');
    assert.equal(denied.code, 2, denied.stderr);
    assert.match(denied.stderr, /llamaduo-test\/gated .*gated.*accept its license.*tokenSecret/);
    assert.ok(hub.log.some((r) => r.path.includes(gated) && r.status === 401 && !r.authorized));

    const allowed = await forked.run(spec(gated, 'gated-allowed', false), 'gated-allowed', {
      HF_TOKEN: TOKEN,
    });
    assert.equal(allowed.code, 0, allowed.stderr);
    assert.ok(hub.log.some((r) => r.path.includes(gated) && r.status === 200 && r.authorized));
    const result = await readFile(path.join(scratch, 'gated-allowed', 'out', 'result.json'), 'utf8');
    for (const text of [allowed.stdout, allowed.stderr, result])
      assert.ok(!text.includes(TOKEN), 'token leaked');
  });

  it('exits 2 naming the model and the fix: unknown id, unknown revision, no chat template, store refusals', async () => {
    const prompts = path.join(scratch, 'prompts-errors.jsonl');
    await writeFile(prompts, JSON.stringify(records(1)[0]) + '\n');
    await mkdir(path.join(scratch, 'errors'), { recursive: true });
    const spec = (baseModel: string, extra: object = {}) => ({
      baseModel,
      prompts,
      outputDir: path.join(
        scratch,
        'errors',
        `${baseModel.replace(/\W+/g, '-')}-${Object.keys(extra).length}`,
      ),
      sampling: { responsesPerPrompt: 1, temperature: 0, maxNewTokens: 2 },
      device: 'cpu',
      ...extra,
    });
    const cases: [string, object, Record<string, string>, RegExp][] = [
      ['llamaduo-test/no-such-model', {}, {}, /llamaduo-test\/no-such-model .*no such model.*check the id/],
      [`${MODEL}@no-such-branch`, {}, {}, /no revision 'no-such-branch'.*branch, tag or commit sha/],
      ['llamaduo-test/no-template', {}, {}, /llamaduo-test\/no-template: the model has no chat template/],
      [MODEL, {}, { HF_TOKEN: 'hf_wrong' }, /refused the token \(401\).*valid read token/],
      [
        `${MODEL}@main`,
        { modelCache: 's3://no-such-bucket-llamaduo/models' },
        {},
        /s3:\/\/no-such-bucket-llamaduo\/models: the bucket does not exist/,
      ],
      [
        `${MODEL}@main`,
        { modelCache: `s3://${bucket}/artifacts/${MODEL_CACHE_KEY}` },
        { AWS_SECRET_ACCESS_KEY: 'not-the-secret-0000' },
        /credentials were rejected/,
      ],
      [
        `${MODEL}@main`,
        {},
        { HF_HUB_OFFLINE: '1' },
        /HF_HUB_OFFLINE=1 and the revision is not a commit sha.*pin it/,
      ],
    ];
    for (const [i, [baseModel, extra, env, expected]] of cases.entries()) {
      const run = await forked.run(spec(baseModel, extra), `error-${i}`, env);
      assert.equal(run.code, 2, `${baseModel}: ${run.stderr}`);
      assert.match(run.stderr, expected);
      assert.ok(
        !run.stderr.includes('not-the-secret-0000') && !run.stderr.includes('hf_wrong'),
        'secret echoed',
      );
    }
  });

  it('rejects a malformed baseModel at config load, naming the field', () => {
    const r = MigrationConfig.shape.baseModel.safeParse('not a model');
    assert.equal(r.success, false);
    assert.match(r.error!.issues[0]!.message, /not a model source: use a Hugging Face Hub id/);
    for (const ok of [
      'google/gemma-2b-it',
      'org/name@v1.0',
      '/models/x',
      '/m/x.gguf',
      's3://b/m',
      'builtin:tiny',
    ])
      assert.ok(MigrationConfig.shape.baseModel.safeParse(ok).success, ok);
  });
});
