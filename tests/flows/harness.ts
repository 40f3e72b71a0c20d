// What every flow test runs on: a real Temporal dev server, workers for every queue with the real activities
// (workers/activities.ts: the local GPU backend running the CPU trainer with its built-in tiny model, unless a
// test gives another GPU backend), and a local OpenAI-protocol server as teacher and judge.
//
// The judge scores an answer by whose adapter wrote it: judge shards run one at a time, and for each the judge
// asks the test's `scoreOf(owner)`, where owner is the migration that trained the adapter the shard's
// generations were written with (read from the generate step's spec.json). So a test decides which run is
// better without faking any activity, and a comparison against the wrong generations shows. So a test decides which run is
// better without faking any activity, and a comparison of an adapter against the wrong generations shows.
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { LocalArtifactStore } from '../../activities/store/local-store';
import type { AllActivities, QueueName } from '../../common/activities';
import { MigrationConfig, type MigrationConfigInput } from '../../common/config';
import { createActivities } from '../../workers/activities';
import { createWorkers } from '../../workers/create-workers';
import { readWorkerEnv } from '../../workers/worker-config';
import { scriptedTeacher } from '../chaos/scripted-teacher';
import { startTestEnv, workflowBundle } from '../helpers/temporal-env';
import { DOLLY } from '../helpers/test-config';
import { startOpenAiServer, type StartedServer } from '../servers';

export const API_KEY = 'sk-flows-local-only';

export interface FlowEnv {
  env: TestWorkflowEnvironment;
  store: LocalArtifactStore;
  provider: StartedServer;
  /** the judge's score (0-100) of an answer written by `owner`'s adapter; null owner: the teacher's answers */
  scoreOf: (owner: string | null) => number;
  config(name: string, overrides?: Partial<MigrationConfigInput>): MigrationConfig;
  close(): Promise<void>;
}

export interface FlowEnvOptions {
  /** replaces or wraps real activities (a GPU backend of another kind, an observation hook) */
  activities?: (real: Partial<AllActivities>, store: LocalArtifactStore) => Partial<AllActivities>;
  /** the queues this env's workers serve (default all); a test may run a GPU worker of its own */
  queues?: QueueName[];
}

/** The migration that trained the adapter a generations file was written with (null: not a student's). */
function ownerOf(store: LocalArtifactStore, generationsUri: string): string | null {
  // <step dir>/out/generations.jsonl beside <step dir>/spec.json, whose adapterDir is
  // <root>/<migration that trained it>/cycle-<n>/finetune/out/...
  const file = store.path(generationsUri);
  if (!file.endsWith(`${path.sep}out${path.sep}generations.jsonl`)) return null;
  const spec = JSON.parse(readFileSync(path.join(file, '..', '..', 'spec.json'), 'utf8')) as {
    adapterDir?: string;
  };
  // the base student (no adapter) is nobody's trained student
  if (!spec.adapterDir) return null;
  return path.relative(store.root, spec.adapterDir).split(path.sep)[0]!;
}

/** One at a time: each caller runs after the previous one finished. */
function serial() {
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(fn: () => Promise<T>): Promise<T> => {
    const run = tail.then(fn, fn);
    tail = run.catch(() => undefined);
    return run;
  };
}

export async function startFlowEnv(opts: FlowEnvOptions = {}): Promise<FlowEnv> {
  const env = await startTestEnv();
  const dir = await mkdtemp(path.join(tmpdir(), 'llamaduo-flows-'));
  const store = new LocalArtifactStore(path.join(dir, 'artifacts'));
  const flow: FlowEnv = {
    env,
    store,
    provider: undefined as never,
    scoreOf: () => 50,
    config: (name, overrides = {}) => flowConfig(name, `${flow.provider.url}/v1`, overrides),
    close: async () => {
      for (const w of workers) w.shutdown();
      await running;
      await env.teardown();
      await flow.provider.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
  // Judge shards run one at a time (across runs too), so the judge knows whose answers it is scoring.
  let judging: string | null = null;
  const oneAtATime = serial();
  const judge = (): string => {
    const score = flow.scoreOf(judging);
    return JSON.stringify({
      similarity_assessment: { score, rationale: 'scored by the flow test' },
      precision_assessment: { score, rationale: 'scored by the flow test' },
    });
  };
  flow.provider = await startOpenAiServer({
    apiKey: API_KEY,
    respond: (req) =>
      JSON.stringify(req.schema ?? '').includes('similarity_assessment') ? judge() : scriptedTeacher(req),
    rpm: 1_000_000,
    tpm: 1_000_000_000,
  });
  const real = createActivities(readWorkerEnv({ LLAMADUO_ARTIFACTS: store.root }), {
    OPENAI_API_KEY: API_KEY,
    LLAMADUO_TOOLS: process.env.LLAMADUO_TOOLS,
  });
  const judgeShard: AllActivities['judgeShard'] = (input) =>
    oneAtATime(async () => {
      judging = ownerOf(store, input.generations.uri);
      try {
        return await real.judgeShard!(input);
      } finally {
        judging = null;
      }
    });
  const activities = { ...real, judgeShard };
  const workers: Worker[] = await createWorkers({
    connection: env.nativeConnection,
    namespace: env.namespace ?? 'default',
    queues: opts.queues ?? ['workflow', 'data', 'llm', 'gpu'],
    activities: opts.activities ? opts.activities(activities, store) : activities,
    workflowBundle: await workflowBundle(),
    shutdownGraceTime: '2s',
  });
  const running = Promise.all(workers.map((w) => w.run())).then(() => undefined);
  return flow;
}

/**
 * A one-cycle migration small enough for the CPU trainer: 4 test prompts, one answer each, one judge call per
 * answer, a target out of reach (so it ends target-not-met unless a test changes that).
 */
export function flowConfig(
  name: string,
  baseURL: string,
  overrides: Partial<MigrationConfigInput> = {},
): MigrationConfig {
  const model = { provider: 'openai' as const, model: 'gpt-4o', baseURL, rpm: 100_000, tpm: 100_000_000 };
  // each run its own seeds: two runs are two different adapters
  const seed = [...name].reduce((h, c) => (h * 31 + c.charCodeAt(0)) % 100_000, 7);
  return MigrationConfig.parse({
    name,
    dataset: { path: DOLLY, categories: ['open_qa'], limit: 40 },
    split: { testRatio: 0.1, seed: 11 },
    baseModel: 'builtin:tiny-random-llama',
    trainer: { method: 'lora', epochs: 1, batchSize: 8, maxSeqLength: 96, learningRate: 1e-3, seed },
    inference: { responsesPerPrompt: 1, maxNewTokens: 12, temperature: 1, seed },
    evaluation: {
      judges: [{ ...model, temperature: 0 }],
      repeats: 1,
      pairwise: false,
      judgeCallsPerShard: 8,
    },
    target: { metric: 'precision', statistic: 'mean', atLeast: 100 },
    synthesis: { teacher: model, samplesPerRequest: 3, initialVolume: 6, requestsPerShard: 2 },
    budget: { maxUsd: 20 },
    maxCycles: 1,
    gpu: { kind: 'local', device: 'cpu' },
    ...overrides,
  });
}
