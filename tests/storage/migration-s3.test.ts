// A whole migration on a real Temporal dev server with the S3 artifact store and the local GPU backend: the
// worker's activities are the real ones (the real trainer on CPU with the builtin tiny model; teacher and
// judge on the local OpenAI-compatible server), the worker runs in an empty working directory, and the
// dataset starts as a local file on the "client" that startMigration uploads to the store. Everything the
// run reads or writes is in S3; no credential reaches the workflow history.
import { strict as assert } from 'node:assert';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { S3ArtifactStore } from '../../activities/store/s3-store';
import { MigrationClient } from '../../client/migrations';
import { MigrationConfig } from '../../common/config';
import { createActivities } from '../../workers/activities';
import { createWorkers } from '../../workers/create-workers';
import { readWorkerEnv } from '../../workers/worker-config';
import { dollyRecords } from '../unit/curation/real-records';
import { startTestEnv, workflowBundle } from '../helpers/temporal-env';
import { startOpenAiServer, type StartedServer } from '../servers/index';
import { clientAs, newBucket, s3Env, S3_TEST } from './env';

const OPENAI_KEY = 'sk-test-s3-migration';

let env: TestWorkflowEnvironment;
let llm: StartedServer;
let scratch: string;
let workerCwd: string;
let store: S3ArtifactStore;
let workers: Worker[] = [];
let running: Promise<void> | undefined;
const originalCwd = process.cwd();

before(async () => {
  env = await startTestEnv();
  llm = await startOpenAiServer({ apiKey: OPENAI_KEY, rpm: 60_000, tpm: 100_000_000 });
  scratch = await mkdtemp(path.join(tmpdir(), 'llamaduo-s3-migration-'));
  workerCwd = path.join(scratch, 'worker');
  await mkdir(workerCwd);
  const bucket = await newBucket('migration');
  const location = `s3://${bucket}/llamaduo`;
  store = new S3ArtifactStore(location, { client: clientAs() });
  const repo = path.resolve(import.meta.dirname, '..', '..');
  const activities = createActivities(readWorkerEnv({ LLAMADUO_ARTIFACTS: location }), {
    ...s3Env(),
    OPENAI_API_KEY: OPENAI_KEY,
    LLAMADUO_HOME: path.join(scratch, 'worker-home'),
    LLAMADUO_TOOLS: process.env.LLAMADUO_TOOLS ?? path.join(repo, '.tools'),
  });
  // The worker (and the trainer it starts) runs where no input exists.
  process.chdir(workerCwd);
  workers = await createWorkers({
    connection: env.nativeConnection,
    namespace: env.namespace ?? 'default',
    queues: ['workflow', 'data', 'llm', 'gpu'],
    activities,
    workflowBundle: await workflowBundle(),
    shutdownGraceTime: '1s',
  });
  running = Promise.all(workers.map((w) => w.run())).then(() => undefined);
});

after(async () => {
  process.chdir(originalCwd);
  for (const w of workers) w.shutdown();
  await running;
  await env?.teardown();
  await llm?.close();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe('a migration with the S3 store and the local GPU backend', () => {
  it('uploads the local dataset, runs a cycle with everything in S3 and nothing on the worker disk', async () => {
    const clientDir = path.join(scratch, 'client');
    await mkdir(clientDir);
    const dataset = path.join(clientDir, 'coverage.jsonl');
    const records = dollyRecords(400)
      .filter((r) => r.category === 'classification')
      .slice(0, 30);
    await writeFile(dataset, records.map((r) => JSON.stringify(r)).join('\n') + '\n');
    const teacher = { provider: 'openai', model: 'gpt-4o', baseURL: `${llm.url}/v1` } as const;
    const config = MigrationConfig.parse({
      name: 's3-migration',
      dataset: { path: dataset },
      split: { testRatio: 0.2, seed: 7 },
      baseModel: 'builtin:tiny-random-llama',
      trainer: { method: 'lora', epochs: 1, batchSize: 8, gradientAccumulation: 1, maxSeqLength: 128 },
      inference: { responsesPerPrompt: 1, maxNewTokens: 8 },
      evaluation: { judges: [teacher], repeats: 1, pairwise: false, judgeCallsPerShard: 50 },
      target: { metric: 'precision', statistic: 'mean', atLeast: 99 },
      synthesis: { teacher, initialVolume: 4, requestsPerShard: 2, samplesPerRequest: 2 },
      budget: { maxUsd: 5 },
      maxCycles: 1,
      gpu: { kind: 'local', device: 'cpu' },
    });
    const mc = new MigrationClient(env.client);
    const handle = await mc.startMigration(config, { workflowId: 's3-migration', store });
    const result = await handle.result();

    assert.equal(result.cycles.length, 1);
    const cycle = result.cycles[0]!;
    for (const ref of [cycle.adapter, cycle.generations, cycle.judgments, result.report!]) {
      assert.match(ref.sha256, /^[0-9a-f]{64}$/);
      const inStore = await store.pathRef(store.keyOf(ref.uri));
      assert.deepEqual([inStore?.sha256, inStore?.bytes], [ref.sha256, ref.bytes], ref.uri);
    }
    assert.equal(cycle.generations.count, 6);
    const adapterFiles = await store.list(store.keyOf(cycle.adapter.uri));
    assert.ok(
      adapterFiles.some((f) => f.endsWith('adapter_config.json')),
      adapterFiles.join(),
    );

    // The dataset went into the store, content-addressed, and the migration read it from there.
    const uploads = await store.list('datasets');
    assert.equal(uploads.length, 1);
    // The first run's history (its input holds the config), payload bytes decoded.
    const history = await env.client.workflow
      .getHandle(handle.workflowId, handle.firstExecutionRunId)
      .fetchHistory();
    const text = JSON.stringify(history, (_k, v: unknown) => {
      if (v instanceof Uint8Array) return Buffer.from(v).toString('utf8');
      if (typeof v === 'bigint') return String(v);
      if (typeof v === 'string' && v.length >= 8 && v.length % 4 === 0 && /^[A-Za-z0-9+/]+={0,2}$/.test(v))
        return `${v} ${Buffer.from(v, 'base64').toString('utf8')}`;
      return v;
    });
    assert.ok(text.includes(store.runnerPath(uploads[0]!)), 'the config in history names the s3:// dataset');
    assert.ok(!text.includes(dataset), 'the client-side path never reached the workers');
    assert.ok(!text.includes(S3_TEST.admin.secretAccessKey), 'no S3 secret in history');
    assert.ok(!text.includes(S3_TEST.admin.accessKeyId), 'no S3 key id in history');

    const written = await store.list('s3-migration');
    for (const want of ['s3-migration/data/train.jsonl', 's3-migration/report.html'])
      assert.ok(written.includes(want), `${want} missing from ${written.length} objects`);
    assert.deepEqual(await readdir(workerCwd), [], 'the worker wrote nothing into its working directory');
  });
});
