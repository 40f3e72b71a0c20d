// Base models from the Hugging Face Hub, through the code a cluster runs: the GPU activities write specs to
// the S3 store (SeaweedFS), the local backend starts the real trainer (CPU), and huggingface_hub downloads
// from a local server that speaks the Hub's API (tests/servers/hub-server.ts) serving the demo student
// (SmolLM2-135M in safetensors). The revision is resolved once per migration, the files are cached once in
// the store (a damaged entry is fetched again; two migrations racing for it download it once), and every
// error retrying cannot fix exits 2 naming the model and the fix.
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
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
// a torch import per run. Runs go one at a time, so a test can read the Hub log between them; a batch starts
// several at once.
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
  const answer = () =>
    new Promise<string>((resolve, reject) => {
      waiting.push(resolve);
      void exited.then((c) => reject(new Error(`trainer_cli_forked.py exited ${c}`)));
    });
  const prepare = async (spec: object, label: string, env: Record<string, string>) => {
    const file = path.join(scratch, `${label}.json`);
    await writeFile(file, JSON.stringify(spec));
    const out = path.join(scratch, `${label}-${seq++}`);
    return {
      line: { argv: ['generate', '--spec', file], env, stdout: `${out}.stdout`, stderr: `${out}.stderr` },
      stderrFile: `${out}.stderr`,
      outcome: async (code: number) => ({
        code,
        stdout: await readFile(`${out}.stdout`, 'utf8'),
        stderr: await readFile(`${out}.stderr`, 'utf8'),
      }),
    };
  };
  return {
    async run(spec: object, label: string, env: Record<string, string> = {}) {
      const p = await prepare(spec, label, env);
      const line = answer();
      child.stdin.write(JSON.stringify(p.line) + '\n');
      const { code } = JSON.parse(await line) as { code: number };
      return p.outcome(code);
    },
    /** Starts the runs at once; `stderrFiles` can be read while they run. */
    async batch(runs: { spec: object; label: string; env?: Record<string, string> }[]) {
      const prepared = await Promise.all(runs.map((r) => prepare(r.spec, r.label, r.env ?? {})));
      const line = answer();
      child.stdin.write(JSON.stringify({ batch: prepared.map((p) => p.line) }) + '\n');
      return {
        stderrFiles: prepared.map((p) => p.stderrFile),
        done: (async () => {
          const { codes } = JSON.parse(await line) as { codes: number[] };
          return Promise.all(prepared.map((p, i) => p.outcome(codes[i]!)));
        })(),
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

  it("a damaged cache entry is detected, fetched again from the Hub and replaced (a dead holder's lock taken over), never loaded", async () => {
    const sha = hub.commits[MODEL]!;
    const entry = `${MODEL_CACHE_KEY}/hub/${MODEL}/${sha}`;
    const manifest = await store.readJson<{ files: Record<string, { sha256: string; bytes: string }> }>(
      `${entry}/manifest.json`,
    );
    const weightsKey = `artifacts/${entry}/model.safetensors`;
    // A partial copy: the first kilobyte of what the manifest recorded.
    await clientAs().send(
      new PutObjectCommand({ Bucket: bucket, Key: weightsKey, Body: Buffer.alloc(1024, 7) }),
    );
    // ... and the entry's lock still holds the record of a Job that died while repairing it.
    await clientAs().send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: `artifacts/${entry}.lock/pod-gone-1-0123456789ab`,
        Body: JSON.stringify({ owner: 'pod-gone-1-0123456789ab', beat: 7 }),
      }),
    );
    const prompts = path.join(scratch, 'prompts-damaged.jsonl');
    await writeFile(prompts, JSON.stringify(records(1, 30)[0]) + '\n');
    const weightsBefore = cdnGets().length;
    const run = await forked.run(
      {
        baseModel: `${MODEL}@${sha}`,
        modelCache: `s3://${bucket}/artifacts/${MODEL_CACHE_KEY}`,
        prompts,
        outputDir: path.join(scratch, 'damaged', 'out'),
        sampling: { responsesPerPrompt: 1, temperature: 0, maxNewTokens: 1 },
        device: 'cpu',
      },
      'damaged',
      { LLAMADUO_MODEL_LOCK_STALE_S: '2', LLAMADUO_MODEL_LOCK_POLL_S: '0.5' },
    );
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /holder pod-gone-1-0123456789ab stopped its heartbeat; taking over/);
    assert.match(run.stderr, /is damaged \(model\.safetensors does not match its sha256 [0-9a-f]{64}\)/);
    assert.doesNotMatch(run.stderr, /from the cache at/);
    assert.equal(cdnGets().length - weightsBefore, 1, 'the weights were downloaded again');
    const head = await clientAs().send(new HeadObjectCommand({ Bucket: bucket, Key: weightsKey }));
    assert.equal(String(head.ContentLength), manifest.files['model.safetensors']!.bytes);
    assert.equal(head.Metadata?.sha256, manifest.files['model.safetensors']!.sha256);
    assert.deepEqual(await store.list(`${entry}.lock`), [], 'the lock was released');
  });

  it('two migrations fetching one model at once: one downloads it, the other waits and reads the cache', async () => {
    const sha = hub.commits[MODEL]!;
    const cache = `s3://${bucket}/race/${MODEL_CACHE_KEY}`;
    const prompts = path.join(scratch, 'prompts-race.jsonl');
    await writeFile(prompts, JSON.stringify(records(1, 40)[0]) + '\n');
    const spec = (migration: string) => ({
      baseModel: `${MODEL}@main`,
      modelCache: cache,
      baseModelLock: `s3://${bucket}/race/${migration}/base-model.json`,
      prompts,
      outputDir: path.join(scratch, 'race', migration),
      sampling: { responsesPerPrompt: 1, temperature: 0, maxNewTokens: 1 },
      device: 'cpu',
    });
    // The weights are parked at the "CDN" until the other Job is seen waiting on the entry's lock.
    const hold = hub.hold('model.safetensors');
    const weightsBefore = cdnGets().length;
    const env = { LLAMADUO_MODEL_LOCK_POLL_S: '0.5', HF_HUB_DOWNLOAD_TIMEOUT: '600' };
    const runs = await forked.batch([
      { spec: spec('mA'), label: 'race-a', env },
      { spec: spec('mB'), label: 'race-b', env },
    ]);
    await hold.arrived;
    const waitingLine = async () => {
      const texts = await Promise.all(runs.stderrFiles.map((f) => readFile(f, 'utf8').catch(() => '')));
      return texts.some((t) => t.includes('waiting for another Job to finish fetching'));
    };
    while (!(await waitingLine())) await new Promise((r) => setTimeout(r, 200));
    hold.release();
    const [a, b] = await runs.done;
    assert.equal(a!.code, 0, a!.stderr);
    assert.equal(b!.code, 0, b!.stderr);
    assert.equal(cdnGets().length - weightsBefore, 1, 'the weights were downloaded once');
    const fetched = [a!, b!].filter((r) => /cached at s3:/.test(r.stderr));
    assert.equal(fetched.length, 1, 'exactly one Job fetched the model');
    const other = fetched[0] === a ? b! : a!;
    assert.match(other.stderr, /waiting for another Job to finish fetching/);
    assert.match(other.stderr, /from the cache at s3:/);
    const entry = `${MODEL_CACHE_KEY}/hub/${MODEL}/${sha}`;
    const raceStore = new S3ArtifactStore(`s3://${bucket}/race`, { client: clientAs() });
    assert.ok(await raceStore.isFile(`${entry}/manifest.json`));
    assert.deepEqual(await raceStore.list(`${entry}.lock`), [], 'the lock was released');
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
