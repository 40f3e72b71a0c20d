// What every flow test runs on: a real Temporal dev server, workers for every queue with the real activities
// (workers/activities.ts: the local GPU backend running the CPU trainer with its built-in tiny model, unless a
// test gives another GPU backend), and a local OpenAI-protocol server as teacher and judge.
//
// The judge scores an answer by whose adapter wrote it: it looks the answer up in the generations files of
// the artifact store and asks the test's `scoreOf(owner)`, where owner is the migration that trained the
// adapter the generate step ran with (read from that step's spec.json). So a test decides which run is
// better without faking any activity, and a comparison of an adapter against the wrong generations shows.
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { parseJudgePrompt } from '../../activities/eval/judge-prompts';
import { ArtifactStore } from '../../activities/store/artifact-store';
import type { AllActivities, QueueName } from '../../common/activities';
import { MigrationConfig, type MigrationConfigInput } from '../../common/config';
import { createActivities } from '../../workers/activities';
import { createWorkers } from '../../workers/create-workers';
import { readWorkerEnv } from '../../workers/worker-config';
import { scriptedTeacher } from '../chaos/scripted-teacher';
import { startTestEnv, workflowBundle } from '../helpers/temporal-env';
import { DOLLY } from '../helpers/test-config';
import { startOpenAiServer, type ServedRequest, type StartedServer } from '../servers';

export const API_KEY = 'sk-flows-local-only';

export interface FlowEnv {
  env: TestWorkflowEnvironment;
  store: ArtifactStore;
  provider: StartedServer;
  /** the judge's score (0-100) of an answer written by `owner`'s adapter; null owner: the teacher's answers */
  scoreOf: (owner: string | null) => number;
  /** answers whose owner the judge could not tell apart (the same text in two owners' generations) */
  ambiguous: string[];
  config(name: string, overrides?: Partial<MigrationConfigInput>): MigrationConfig;
  close(): Promise<void>;
}

export interface FlowEnvOptions {
  /** replaces or wraps real activities (a GPU backend of another kind, an observation hook) */
  activities?: (real: Partial<AllActivities>, store: ArtifactStore) => Partial<AllActivities>;
  /** the queues this env's workers serve (default all); a test may run a GPU worker of its own */
  queues?: QueueName[];
}

/** Every generations file in the store with the owner of the adapter that wrote it. */
function generationOwners(store: ArtifactStore): Map<string, Set<string>> {
  const owners = new Map<string, Set<string>>();
  const add = (text: string, owner: string) => {
    if (!owners.has(text)) owners.set(text, new Set());
    owners.get(text)!.add(owner);
  };
  const files = listSync(store.root).filter((f) => f.endsWith('/out/generations.jsonl'));
  for (const file of files) {
    // <step dir>/out/generations.jsonl beside <step dir>/spec.json, whose adapterDir is
    // <root>/<migration that trained it>/cycle-<n>/finetune/out/...
    const spec = JSON.parse(readFileSync(path.join(file, '..', '..', 'spec.json'), 'utf8')) as {
      adapterDir: string;
    };
    const owner = path.relative(store.root, spec.adapterDir).split(path.sep)[0]!;
    for (const line of readFileSync(file, 'utf8').split('\n'))
      if (line.trim()) add((JSON.parse(line) as { text: string }).text, owner);
  }
  return owners;
}

function listSync(dir: string): string[] {
  try {
    return readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => path.join(e.parentPath, e.name));
  } catch {
    return [];
  }
}

export async function startFlowEnv(opts: FlowEnvOptions = {}): Promise<FlowEnv> {
  const env = await startTestEnv();
  const dir = await mkdtemp(path.join(tmpdir(), 'llamaduo-flows-'));
  const store = new ArtifactStore(path.join(dir, 'artifacts'));
  const flow: FlowEnv = {
    env,
    store,
    provider: undefined as never,
    scoreOf: () => 50,
    ambiguous: [],
    config: (name, overrides = {}) => flowConfig(name, `${flow.provider.url}/v1`, overrides),
    close: async () => {
      for (const w of workers) w.shutdown();
      await running;
      await env.teardown();
      await flow.provider.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
  const judge = (req: ServedRequest): string => {
    const user = req.messages.filter((m) => m.role === 'user').at(-1)?.content ?? '';
    const { material } = parseJudgePrompt(user);
    const owners = generationOwners(store).get(material.response ?? '');
    if (owners && owners.size > 1) flow.ambiguous.push(material.response ?? '');
    const score = flow.scoreOf(owners?.size === 1 ? [...owners][0]! : null);
    return JSON.stringify({
      similarity_assessment: { score, rationale: 'scored by the flow test' },
      precision_assessment: { score, rationale: 'scored by the flow test' },
    });
  };
  flow.provider = await startOpenAiServer({
    apiKey: API_KEY,
    respond: (req) =>
      JSON.stringify(req.schema ?? '').includes('similarity_assessment') ? judge(req) : scriptedTeacher(req),
    rpm: 1_000_000,
    tpm: 1_000_000_000,
  });
  const real = createActivities(readWorkerEnv({ LLAMADUO_ARTIFACTS: store.root }), {
    OPENAI_API_KEY: API_KEY,
    LLAMADUO_TOOLS: process.env.LLAMADUO_TOOLS,
  });
  const workers: Worker[] = await createWorkers({
    connection: env.nativeConnection,
    namespace: env.namespace ?? 'default',
    queues: opts.queues ?? ['workflow', 'data', 'llm', 'gpu'],
    activities: opts.activities ? opts.activities(real, store) : real,
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
  // Each run trains its own adapter (its own seed, a learning rate that really moves the tiny model), so two
  // runs' adapters answer differently and the judge can tell whose answer it scores.
  const seed = [...name].reduce((h, c) => (h * 31 + c.charCodeAt(0)) % 100_000, 7);
  return MigrationConfig.parse({
    name,
    dataset: { path: DOLLY, categories: ['open_qa'], limit: 40 },
    split: { testRatio: 0.1, seed: 11 },
    baseModel: 'builtin:tiny-random-llama',
    trainer: { method: 'lora', epochs: 2, batchSize: 4, maxSeqLength: 96, learningRate: 5e-2, seed },
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
