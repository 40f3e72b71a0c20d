// What the LLM-money flow tests share: a real Temporal dev server (tests/helpers/temporal-env.ts), a worker
// child process with the real activities, the local OpenAI-protocol server (tests/servers) as teacher and
// judge, and a small migration on the trainer's built-in tiny model through the local GPU backend.
import { fork, type ChildProcess } from 'node:child_process';
import { openSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { TASK_QUEUES } from '../../common/activities';
import { MigrationConfig, type MigrationConfigInput } from '../../common/config';
import { migrationWorkflow } from '../../workflows/migration-workflow';
import { writeWorkflowBundle } from '../helpers/bundle-file';
import { startTestEnv } from '../helpers/temporal-env';
import { DOLLY } from '../helpers/test-config';
import { scriptedTeacher } from '../chaos/scripted-teacher';
import { startOpenAiServer, type ServedRequest, type ServerOptions, type StartedServer } from '../servers';

export const API_KEY = 'sk-flow-local-only';
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface FlowEnv {
  env: TestWorkflowEnvironment;
  dir: string;
  artifacts: string;
  bundle: string;
  log: string;
  close(): Promise<void>;
}

export async function startFlowEnv(): Promise<FlowEnv> {
  const dir = await mkdtemp(path.join(tmpdir(), 'llamaduo-flow-'));
  const artifacts = path.join(dir, 'artifacts');
  await mkdir(artifacts, { recursive: true });
  const env = await startTestEnv();
  const bundle = await writeWorkflowBundle(dir);
  return {
    env,
    dir,
    artifacts,
    bundle,
    log: path.join(dir, 'worker.log'),
    close: async () => {
      await env.teardown();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Starts the worker process; resolves once it polls. */
export function startWorker(flow: FlowEnv, extraEnv: Record<string, string> = {}): Promise<ChildProcess> {
  const child = fork(path.join(import.meta.dirname, 'llm-flow-worker.ts'), {
    execArgv: ['--import', 'tsx'],
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: flow.env.address,
      TEMPORAL_NAMESPACE: 'default',
      LLAMADUO_ARTIFACTS: flow.artifacts,
      LLAMADUO_LOG_LEVEL: 'ERROR',
      LLAMADUO_HEALTH_PORT: '0',
      OPENAI_API_KEY: API_KEY,
      LLAMADUO_LLM_TIMEOUT_MS: '5000',
      LLAMADUO_LLM_BACKOFF_MS: '100',
      LLAMADUO_BATCH_POLL_MS: '250',
      WORKFLOW_BUNDLE: flow.bundle,
      ...extraEnv,
    },
    stdio: ['ignore', openSync(flow.log, 'a'), openSync(flow.log, 'a'), 'ipc'],
  });
  return new Promise((resolve, reject) => {
    child.once('message', () => resolve(child));
    child.once('exit', (code) =>
      reject(new Error(`worker exited early (${code}): ${readFileSync(flow.log, 'utf8').slice(-2000)}`)),
    );
  });
}

export async function stopWorker(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill(signal);
  await exited;
}

/** The scripted teacher/judge (deterministic, English text the curation accepts), optionally slowed. */
export function provider(opts: ServerOptions & { synthesisDelayMs?: number } = {}): Promise<StartedServer> {
  const { synthesisDelayMs, ...server } = opts;
  return startOpenAiServer({
    apiKey: API_KEY,
    latencyMs: [2, 10],
    rpm: 100_000,
    tpm: 200_000_000,
    batchDelayMs: 200,
    ...server,
    respond: async (req: ServedRequest) => {
      if (synthesisDelayMs && isSynthesis(req)) await sleep(synthesisDelayMs);
      const first = req.messages.findIndex((m) => m.role === 'user');
      return scriptedTeacher({ ...req, messages: req.messages.slice(0, first + 1) });
    },
  });
}

export const isSynthesis = (req: ServedRequest) => JSON.stringify(req.schema ?? '').includes('examples');

/** A small migration on the tiny model, teacher and judge on `baseURL` (the local server). */
export function flowConfig(name: string, baseURL: string, overrides: Partial<MigrationConfigInput> = {}) {
  const teacher = { provider: 'openai' as const, model: 'gpt-4o', baseURL, rpm: 60_000, tpm: 50_000_000 };
  return MigrationConfig.parse({
    name,
    dataset: { path: DOLLY, categories: ['open_qa'], limit: 60 },
    split: { testRatio: 0.1, seed: 11 },
    baseModel: 'builtin:tiny-random-llama',
    trainer: { method: 'lora', epochs: 1, batchSize: 8, maxSeqLength: 96, learningRate: 1e-3, seed: 11 },
    inference: { responsesPerPrompt: 1, maxNewTokens: 8, temperature: 0.7, seed: 11 },
    evaluation: {
      judges: [{ ...teacher, temperature: 0, maxOutputTokens: 256 }],
      repeats: 1,
      pairwise: false,
      judgeCallsPerShard: 6,
    },
    // Out of reach: the migration runs until its cycles, its budget or a stop end it.
    target: { metric: 'precision', statistic: 'mean', atLeast: 100 },
    synthesis: {
      teacher: { ...teacher, maxOutputTokens: 512 },
      samplesPerRequest: 3,
      initialVolume: 12,
      requestsPerShard: 2,
      concurrentShards: 2,
      maxRounds: 2,
    },
    budget: { maxUsd: 50 },
    maxCycles: 2,
    gpu: { kind: 'local', device: 'cpu' },
    ...overrides,
  });
}

export function startMigration(flow: FlowEnv, id: string, config: MigrationConfig) {
  return flow.env.client.workflow.start(migrationWorkflow, {
    taskQueue: TASK_QUEUES.workflow,
    workflowId: id,
    args: [{ migrationId: id, config, tuning: { heartbeatTimeout: '5s' } }],
  });
}

/** Polls `probe` until it returns a value (or throws after `timeoutMs`). */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 300_000,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}
