// npm run test:durability
// Migrations on a real dev server with the real activities (tests/chaos/chaos-worker.ts: workers/activities
// with the local GPU backend running the CPU trainer on the built-in tiny model, the local OpenAI-protocol
// server as teacher and judge), run twice with the same ids and configs: uninterrupted (the reference), then
// with the worker process SIGKILLed at seeded random points and restarted. Checks:
// - every migration completes, with the reference's result (timings aside) and the reference's artifacts,
//   byte for byte (those that hold timings or the run's own directory aside, named below);
// - every artifact is complete, has no record twice, matches every reference to it in the histories, was
//   committed once, and no trainer step succeeded twice (artifact-audit.ts);
// - the kills interrupted activities: attempts running at a kill that the histories show were retried;
// - requests billed twice (the provider server's own log) stay within what the checkpoints allow.
// Last line: `durability: <kills> kills, <completed>/<started> completed, <duplicates> duplicate outputs, ...`.
import { fork, type ChildProcess } from 'node:child_process';
import { openSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { TASK_QUEUES } from '../../common/activities';
import { MigrationConfig } from '../../common/config';
import type { MigrationResult } from '../../common/progress';
import { seededRandom } from '../../common/random';
import { LocalArtifactStore } from '../../activities/store/local-store';
import { startDevServer } from '../../client/dev-server';
import { migrationWorkflow } from '../../workflows/migration-workflow';
import { writeWorkflowBundle } from '../helpers/bundle-file';
import { DOLLY } from '../helpers/test-config';
import { auditArtifacts, contentMap } from './artifact-audit';
import { checkBilling } from './billing-bound';
import { listExecutions, refsInHistories, type Execution } from './history-refs';
import { interruptedByKills, queueOf, runningAttempts, type KillRecord } from './kill-audit';
import { startLoggedProvider, type Billed } from './provider-log';

const MIGRATIONS = Number(process.env.DURABILITY_MIGRATIONS ?? 2);
const MIN_KILLS = Number(process.env.DURABILITY_KILLS ?? 10);
const SEED = Number(process.env.DURABILITY_SEED ?? 2026);
const MAX_CYCLES = 2;
const API_KEY = 'sk-durability-local-only';
const rand = seededRandom(SEED);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Artifacts that hold what differs between two runs of one config by design, and how they are compared:
 * everything else must be equal byte for byte.
 */
const NORMALIZED: [RegExp, string, (text: string, root: string) => string][] = [
  [
    /\/out\/result\.json$/,
    'trainer manifests, without durations and tokens/s (losses and outputs compared)',
    (t, root) => {
      const { durations: _d, tokensPerSecond: _t, ...rest } = JSON.parse(t.replaceAll(root, '<root>'));
      return JSON.stringify(rest);
    },
  ],
  [
    /\/spec\.json$/,
    "trainer step inputs, with the run's own artifact directory as <root>",
    (t, root) => t.replaceAll(root, '<root>'),
  ],
  [
    /\/adapter_config\.json$/,
    'adapter configs, with target_modules sorted (PEFT writes a Python set: its order varies per process)',
    (t) => {
      const c = JSON.parse(t);
      if (Array.isArray(c.target_modules)) c.target_modules.sort();
      return JSON.stringify(c);
    },
  ],
  [
    /\/curation\.json$/,
    'curation reports, without their timings',
    (t) => {
      const { timings: _t, ...rest } = JSON.parse(t);
      return JSON.stringify(rest);
    },
  ],
  [
    /\/report\.html$/,
    'reports, without the time they were generated and the GPU cost of fine-tuning (priced from its seconds)',
    (t) =>
      t
        .replace(/\d{4}-\d\d-\d\dT[\d:.]+Z/g, '<time>')
        .replace(/"(fineTuningUsd|gpuUsd|hours)":[\d.e+-]+/g, '"$1":<gpu>')
        .replace(/\$[\d.]+ of GPU time \([\d.]+ fine-tuning hours/g, '<gpu time>'),
  ],
];

const dir = await mkdtemp(path.join(tmpdir(), 'llamaduo-durability-'));
const server = await startDevServer({ dbFile: path.join(dir, 'temporal.sqlite') });
const bundle = await writeWorkflowBundle(dir);
const connection = await Connection.connect({ address: server.address });
const client = new Client({ connection });

function config(name: string, i: number, baseURL: string): MigrationConfig {
  const model = { provider: 'openai' as const, model: 'gpt-4o', baseURL, rpm: 1_000_000, tpm: 1_000_000_000 };
  return MigrationConfig.parse({
    name,
    dataset: { path: DOLLY, categories: ['open_qa'], limit: 80 },
    split: { testRatio: 0.1, seed: SEED + i },
    baseModel: 'builtin:tiny-random-llama',
    trainer: {
      method: 'lora',
      epochs: 1,
      batchSize: 8,
      maxSeqLength: 128,
      learningRate: 1e-3,
      seed: SEED + i,
    },
    // sampled, with a seed: the same tokens on every run of the config
    inference: { responsesPerPrompt: 2, maxNewTokens: 16, temperature: 0.7, seed: SEED + i },
    evaluation: {
      judges: [{ ...model, temperature: 0 }],
      repeats: 1,
      pairwise: false,
      judgeCallsPerShard: 4,
    },
    // out of reach: every cycle runs
    target: { metric: 'precision', statistic: 'mean', atLeast: 100 },
    synthesis: {
      teacher: model,
      samplesPerRequest: 3,
      initialVolume: 24,
      requestsPerShard: 4,
      concurrentShards: 2,
      maxRounds: 3,
    },
    budget: { maxUsd: 50 },
    maxCycles: MAX_CYCLES,
    gpu: { kind: 'local', device: 'cpu' },
  });
}

interface Run {
  prefix: string;
  artifacts: string;
  trainerLedger: string;
  writes: string;
  log: string;
}

function startWorker(run: Run): Promise<ChildProcess> {
  const tools = process.env.LLAMADUO_TOOLS ?? path.resolve(import.meta.dirname, '..', '..', '.tools');
  const child = fork(path.join(import.meta.dirname, '..', 'chaos', 'chaos-worker.ts'), {
    execArgv: ['--import', 'tsx'],
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: server.address,
      LLAMADUO_ARTIFACTS: run.artifacts,
      LLAMADUO_LOG_LEVEL: 'ERROR',
      LLAMADUO_HEALTH_PORT: '0',
      OPENAI_API_KEY: API_KEY,
      WORKFLOW_BUNDLE: bundle,
      CHAOS_PYTHON: path.join(tools, 'venv', 'bin', 'python'),
      CHAOS_LEDGER: run.trainerLedger,
      CHAOS_WRITES: run.writes,
      CHAOS_FAIL_ONCE: '',
      CHAOS_FAIL_MARKER: path.join(dir, run.prefix, 'unused'),
    },
    stdio: ['ignore', openSync(run.log, 'a'), openSync(run.log, 'a'), 'ipc'],
  });
  return new Promise((resolve, reject) => {
    child.once('message', () => resolve(child));
    child.once('exit', (code) => reject(new Error(`worker exited early (${code}); see ${run.log}`)));
  });
}

/**
 * Waits a seeded random time, then until an attempt of the drawn kind (GPU, LLM, synthesis or data work) runs, so the
 * kills spread over every kind of activity. Never kills an attempt already retried 3 times (GPU activities
 * allow 5 attempts; the point is to interrupt, not to exhaust the retry policy).
 */
async function nextKillPoint(settled: () => boolean): Promise<KillRecord | null> {
  const want = (['gpu', 'llm', 'synthesizeShard', 'data'] as const)[Math.floor(rand() * 4)]!;
  // short waits: the migrations must take their ten kills before they finish, also on a fast machine
  await sleep(300 + rand() * 1200);
  const until = Date.now() + 6_000;
  while (!settled()) {
    const running = await runningAttempts(client);
    const safe = running.every((r) => r.attempt <= 3);
    const hit = running.some((r) => queueOf(r.type) === want || r.type === want);
    if (safe && (hit || Date.now() > until)) return { at: Date.now(), running };
    await sleep(150 + rand() * 300);
  }
  return null;
}

const seenExecutions = new Set<string>();

async function runMigrations(prefix: string, kill: boolean) {
  const run: Run = {
    prefix,
    artifacts: path.join(dir, prefix, 'artifacts'),
    trainerLedger: path.join(dir, prefix, 'trainer-ledger.jsonl'),
    writes: path.join(dir, prefix, 'writes.jsonl'),
    log: path.join(dir, prefix, 'worker.log'),
  };
  await mkdir(run.artifacts, { recursive: true });
  const provider = await startLoggedProvider(API_KEY, SEED);
  const started = Date.now();
  let worker = await startWorker(run);
  const kills: KillRecord[] = [];
  try {
    // The same ids in both runs: synthesis seeds and record ids derive from the migration id. The runs keep
    // apart by their artifact directories; the second start reuses the closed workflows' ids.
    const ids = Array.from({ length: MIGRATIONS }, (_, i) => `durable-${i}`);
    const handles = await Promise.all(
      ids.map((id, i) =>
        client.workflow.start(migrationWorkflow, {
          taskQueue: TASK_QUEUES.workflow,
          workflowId: id,
          args: [
            {
              migrationId: id,
              config: config(id, i, `${provider.server.url}/v1`),
              tuning: { heartbeatTimeout: '4s' },
            },
          ],
        }),
      ),
    );
    let settled = false;
    const outcomes = Promise.allSettled(handles.map((h) => h.result())).finally(() => (settled = true));
    while (kill && kills.length < MIN_KILLS && !settled) {
      const point = await nextKillPoint(() => settled);
      if (!point) break;
      const exited = new Promise((r) => worker.once('exit', r));
      kills.push({ ...point, at: Date.now() });
      worker.kill('SIGKILL');
      await exited;
      worker = await startWorker(run);
    }
    const results = await outcomes;
    const executions: Execution[] = [];
    for (const e of await listExecutions(client)) {
      const key = `${e.workflowId}@${e.runId}`;
      if (!seenExecutions.has(key)) executions.push(e);
      seenExecutions.add(key);
    }
    return {
      run,
      ids,
      results,
      kills,
      executions,
      billed: provider.billed as Billed[],
      seconds: (Date.now() - started) / 1000,
    };
  } finally {
    const exited = new Promise((r) => worker.once('exit', r));
    if (worker.exitCode === null) worker.kill('SIGTERM');
    await exited;
    await provider.server.close();
  }
}

/** A result without what differs between two runs of one config by design: timings and the report's time. */
function comparable(r: MigrationResult): unknown {
  const { report, ...rest } = r;
  // the adapter's ref hashes adapter_config.json, whose target_modules order varies per process: the adapter
  // is compared file by file below (weights byte for byte, the config with target_modules sorted)
  const adapter = <T extends { adapter: object }>(x: T) => ({ ...x, adapter: '(compared by file)' });
  return {
    ...rest,
    report: report !== null,
    cycles: r.cycles.map(({ fineTuneSeconds: _s, ...c }) => adapter(c)),
    best: r.best && adapter(r.best),
  };
}

/** The JSON paths where two values differ (at most `limit`). */
function differences(a: unknown, b: unknown, at = '', out: string[] = [], limit = 8): string[] {
  if (out.length >= limit) return out;
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const k of keys)
      differences(
        (a as Record<string, unknown>)[k],
        (b as Record<string, unknown>)[k],
        `${at}.${k}`,
        out,
        limit,
      );
  } else if (JSON.stringify(a) !== JSON.stringify(b))
    out.push(`${at || '(root)'}: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
  return out;
}

let failed = true;
let summary = 'durability: run aborted';
try {
  const calm = await runMigrations('reference', false);
  const killed = await runMigrations('killed', true);
  console.log(`time: reference run ${calm.seconds.toFixed(0)} s, killed run ${killed.seconds.toFixed(0)} s`);
  const errors: string[] = [];

  // 1. every migration completes, as the reference did
  let completed = 0;
  for (const [i, id] of killed.ids.entries()) {
    const ref = calm.results[i]!;
    const got = killed.results[i]!;
    if (ref.status !== 'fulfilled') {
      errors.push(`reference ${id} failed: ${String(ref.reason)}`);
      continue;
    }
    if (got.status !== 'fulfilled') {
      errors.push(`killed ${id} failed: ${String(got.reason)}`);
      continue;
    }
    if (got.value.cycles.length !== MAX_CYCLES)
      errors.push(`${id}: ${got.value.cycles.length} cycles, not ${MAX_CYCLES}`);
    else completed++;
    const diff = differences(comparable(ref.value), comparable(got.value));
    console.log(
      `result ${id}: ${got.value.status}, scores ${got.value.cycles.map((c) => c.score.toFixed(1)).join(' -> ')}, ` +
        `${diff.length ? 'DIFFERS from' : 'equal to'} the reference (all but fine-tune seconds, the adapter hash and the report's time)`,
    );
    for (const d of diff) errors.push(`${id} result differs at ${d}`);
  }

  // 2. every artifact complete, unique, consistent with the histories, written once
  let duplicates = 0;
  for (const o of [calm, killed]) {
    const store = new LocalArtifactStore(o.run.artifacts);
    const audit = await auditArtifacts({
      store,
      refs: await refsInHistories(client, o.executions),
      writes: o.run.writes,
      trainerLedger: o.run.trainerLedger,
    });
    duplicates += audit.problems.filter((p) =>
      / (committed|appears|succeeded) \d+ times| different contents/.test(p),
    ).length;
    console.log(
      `artifacts ${o.run.prefix}: ${audit.files} files, ${audit.recordsChecked} records, ` +
        `${audit.refsChecked} history references checked against the bytes on disk: ${audit.problems.length} problems ` +
        `(${audit.orphanTemps} temp files of cut writes, never renamed; ${audit.leftoverCheckpoints} leftover checkpoints beside their output)`,
    );
    errors.push(...audit.problems.map((p) => `${o.run.prefix}: ${p}`));
  }

  // 3. the same artifacts as the reference
  const want = await contentMap(new LocalArtifactStore(calm.run.artifacts));
  const got = await contentMap(new LocalArtifactStore(killed.run.artifacts));
  let same = 0;
  const normalized = new Map<string, number>();
  for (const key of new Set([...want.keys(), ...got.keys()])) {
    if (want.get(key) === got.get(key)) {
      same++;
      continue;
    }
    if (!want.has(key) || !got.has(key)) {
      errors.push(`artifact ${key}: ${want.has(key) ? 'missing in' : 'only in'} the killed run`);
      continue;
    }
    const rule = NORMALIZED.find(([re]) => re.test(key));
    const read = (root: string) => readFileSync(path.join(root, key), 'utf8');
    if (
      rule &&
      rule[2](read(calm.run.artifacts), calm.run.artifacts) ===
        rule[2](read(killed.run.artifacts), killed.run.artifacts)
    )
      normalized.set(rule[1], (normalized.get(rule[1]) ?? 0) + 1);
    else errors.push(`artifact ${key}: content differs${rule ? ` (compared as ${rule[1]})` : ''}`);
  }
  console.log(
    `compared with the reference: ${same} artifacts byte-identical (datasets, synthetic data, adapter weights, generations, judgments, scores); ` +
      [...normalized].map(([how, n]) => `${n} equal as ${how}`).join('; '),
  );

  // 4. the kills interrupted activities
  const hits = await interruptedByKills(client, killed.kills);
  const types = Object.entries(hits.byType)
    .map(([t, n]) => `${t} ${n}`)
    .join(', ');
  console.log(
    `kills: ${killed.kills.length}, ${hits.effective} interrupted running activities (attempts retried after the kill: ${types || 'none'})`,
  );
  if (hits.effective < Math.ceil(killed.kills.length / 2))
    errors.push(`only ${hits.effective} of ${killed.kills.length} kills interrupted an activity`);
  for (const q of ['gpu', 'llm'] as const)
    if (!Object.keys(hits.byType).some((t) => queueOf(t) === q))
      errors.push(`no kill interrupted a ${q} activity`);

  // 5. requests billed twice stay within what the checkpoints allow
  const billing = checkBilling(killed.billed, calm.billed, killed.kills);
  for (const line of billing.lines) console.log(line);
  errors.push(...billing.errors);

  for (const e of errors.slice(0, 40)) console.error(`FAIL ${e}`);
  failed = errors.length > 0 || killed.kills.length < MIN_KILLS || completed !== MIGRATIONS;
  summary =
    `durability: ${killed.kills.length} kills, ${completed}/${MIGRATIONS} completed, ${duplicates} duplicate outputs, ` +
    `${hits.effective} kills interrupted activities, ${billing.extra} requests billed twice (bound ${billing.bound}), ` +
    `${errors.length} failed checks`;
} finally {
  await connection.close();
  await server.stop();
  if (failed) console.error(`kept ${dir} for inspection`);
  else await rm(dir, { recursive: true, force: true });
}
console.log(summary);
process.exit(failed ? 1 : 0);
