// npm run test:chaos
// One migration of 3 cycles on the real dev server with the real activities (local OpenAI-protocol server as
// teacher and judge, the CPU trainer through the local GPU backend), run twice with the same seeds: calm, then
// under all faults at once: the worker process SIGKILLed at random points, the dev server stopped and
// restarted on its sqlite file, provider faults (429, 5xx, timeouts, malformed JSON) and one trainer step
// preempted once. Checks: the migration completes; its datasets, generations, judgments, per-sample scores,
// cycle scores and per-cycle decisions (continue/stop and the reason) equal the calm run's (compare-runs.ts);
// no trainer step and no artifact output was produced twice; its spend accounting against what the test
// server billed.
// Last line: `chaos: <faults> faults, <completed>/<started> completed, <lost> lost, <duplicated> duplicated`.
import { fork, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import { TASK_QUEUES } from '../../common/activities';
import { MigrationConfig, ServiceModel } from '../../common/config';
import type { MigrationResult } from '../../common/progress';
import { seededRandom } from '../../common/random';
import { costUsd, priceOf } from '../../activities/llm/pricing';
import { ArtifactStore } from '../../activities/store/artifact-store';
import { LocalArtifactStore } from '../../activities/store/local-store';
import { freePort, startDevServer, type DevServer } from '../../client/dev-server';
import { migrationWorkflow } from '../../workflows/migration-workflow';
import { activityClosings, type ActivityClosing } from '../durability/kill-audit';
import { writeWorkflowBundle } from '../helpers/bundle-file';
import { DOLLY } from '../helpers/test-config';
import { startOpenAiServer, type ServedRequest, type StartedServer } from '../servers';
import { compareRuns } from './compare-runs';
import { scriptedTeacher } from './scripted-teacher';
import { ATTEMPT_HEADER, attemptTagOf, lostCalls, type AnsweredCall, type AttemptTag } from './lost-calls';

const SEED = Number(process.env.CHAOS_SEED ?? 2026);
const MIN_KILLS = Number(process.env.CHAOS_KILLS ?? 20);
// Kills stop when the migration completes, and a faster machine completes it with fewer kills: the run must
// have survived at least this many to count.
const REQUIRED_KILLS = Number(process.env.CHAOS_REQUIRED_KILLS ?? 10);
/** the dev server is stopped after this many kills */
const SERVER_RESTART_AFTER_KILL = 8;
const FAIL_ONCE = 'cycle-1/finetune/spec.json';
const API_KEY = 'sk-chaos-local-only';
const MODEL = ServiceModel.parse({ provider: 'openai', model: 'gpt-4o' });
const rand = seededRandom(SEED);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const dir = await mkdtemp(path.join(tmpdir(), 'llamaduo-chaos-'));
const dbFile = path.join(dir, 'temporal.sqlite');
const port = await freePort();
let server: DevServer = await startDevServer({ dbFile, port });
const bundle = await writeWorkflowBundle(dir);
const connection = await Connection.connect({ address: server.address });
const client = new Client({ connection });

function config(name: string, baseURL: string): MigrationConfig {
  // The default limits (the provider's low paid tier) would pace this small run for minutes.
  const teacher = { provider: 'openai' as const, model: MODEL.model, baseURL, rpm: 60_000, tpm: 50_000_000 };
  return MigrationConfig.parse({
    name,
    dataset: { path: DOLLY, categories: ['open_qa'], limit: 80 },
    split: { testRatio: 0.1, seed: SEED },
    baseModel: 'builtin:tiny-random-llama',
    trainer: { method: 'lora', epochs: 1, batchSize: 8, maxSeqLength: 128, learningRate: 1e-3, seed: SEED },
    inference: { responsesPerPrompt: 1, maxNewTokens: 16, temperature: 0.7, seed: SEED },
    evaluation: {
      judges: [{ ...teacher, temperature: 0 }],
      repeats: 1,
      pairwise: false,
      judgeCallsPerShard: 4,
    },
    // Out of reach: every cycle runs.
    target: { metric: 'precision', statistic: 'mean', atLeast: 100 },
    synthesis: {
      teacher,
      samplesPerRequest: 3,
      initialVolume: 12,
      requestsPerShard: 2,
      concurrentShards: 2,
      maxRounds: 3,
    },
    budget: { maxUsd: 50 },
    maxCycles: 3,
    gpu: { kind: 'local', device: 'cpu' },
  });
}

/**
 * The scripted teacher answers from the last user turn; a correction turn ("your reply could not be used")
 * would change the answer. A real model asked again answers the original question, so answer that.
 */
function answer(req: ServedRequest): string {
  const first = req.messages.findIndex((m) => m.role === 'user');
  return scriptedTeacher({ ...req, messages: req.messages.slice(0, first + 1) });
}

/** The server, and every request it answered (and billed: the server calls `respond` once per billed reply). */
async function startProvider(faulty: boolean): Promise<{ server: StartedServer; answered: ServedRequest[] }> {
  const answered: ServedRequest[] = [];
  const server = await startOpenAiServer({
    apiKey: API_KEY,
    respond: (req) => {
      answered.push(req); // the server marks it delivered once its reply is written
      return answer(req);
    },
    seed: SEED,
    latencyMs: [5, 40],
    rpm: 100_000,
    tpm: 200_000_000,
    timeoutHoldMs: 2500,
    // Every kind at least once (the sequence), then about 20 % of requests at random.
    faultSequence: faulty ? ['timeout', 'ok', '429', 'malformed', 'ok', '5xx', 'timeout'] : [],
    faults: faulty ? { rate429: 0.05, rate5xx: 0.05, rateTimeout: 0.04, rateMalformed: 0.06 } : {},
  });
  return { server, answered };
}

interface Run {
  prefix: string;
  artifacts: string;
  ledger: string;
  writes: string;
  log: string;
}

function startWorker(run: Run, chaos: boolean): Promise<ChildProcess> {
  const child = fork(path.join(import.meta.dirname, 'chaos-worker.ts'), {
    execArgv: ['--import', 'tsx'],
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: server.address,
      LLAMADUO_ARTIFACTS: run.artifacts,
      LLAMADUO_LOG_LEVEL: 'ERROR',
      OPENAI_API_KEY: API_KEY,
      LLAMADUO_LLM_TIMEOUT_MS: '1500',
      LLAMADUO_LLM_BACKOFF_MS: '200',
      WORKFLOW_BUNDLE: bundle,
      CHAOS_PYTHON: path.join(
        process.env.LLAMADUO_TOOLS ?? path.resolve(import.meta.dirname, '..', '..', '.tools'),
        'venv',
        'bin',
        'python',
      ),
      CHAOS_LEDGER: run.ledger,
      CHAOS_WRITES: run.writes,
      CHAOS_FAIL_ONCE: chaos ? FAIL_ONCE : '',
      CHAOS_FAIL_MARKER: path.join(dir, run.prefix, 'failed-once'),
    },
    stdio: ['ignore', openSync(run.log, 'a'), openSync(run.log, 'a'), 'ipc'],
  });
  return new Promise((resolve, reject) => {
    child.once('message', () => resolve(child));
    child.once('exit', (code) => reject(new Error(`worker exited early (${code}); see ${run.log}`)));
  });
}

/** Starts a worker, retrying while the dev server is down. */
async function startWorkerRetrying(run: Run, chaos: boolean): Promise<ChildProcess> {
  for (let i = 0; ; i++) {
    try {
      return await startWorker(run, chaos);
    } catch (err) {
      if (i >= 20) throw err;
      await sleep(1000);
    }
  }
}

/** The workflow's result, waiting through a dev server restart. */
async function resultOf(id: string): Promise<MigrationResult> {
  for (;;) {
    try {
      return await client.workflow.getHandle<typeof migrationWorkflow>(id).result();
    } catch (err) {
      if (err instanceof WorkflowFailedError) throw err;
      await sleep(1000);
    }
  }
}

function jsonl<T>(file: string): T[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as T);
}

function duplicatesBy<T>(items: T[], key: (t: T) => string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const it of items) counts.set(key(it), (counts.get(key(it)) ?? 0) + 1);
  return new Map([...counts].filter(([, n]) => n > 1));
}

interface Dataset {
  name: string;
  count: number;
  sha256: string;
}

/** Ingest splits (from the store: the result carries their counts only) and every accepted synthetic dataset. */
function datasetsOf(run: Run, id: string, result: MigrationResult): Dataset[] {
  const store = new LocalArtifactStore(run.artifacts);
  const split = (name: string): Dataset => {
    const text = readFileSync(store.path(ArtifactStore.key(id, 'data', name)), 'utf8');
    const sha256 = createHash('sha256').update(text).digest('hex');
    return { name, count: text.split('\n').filter(Boolean).length, sha256 };
  };
  return [
    split('train.jsonl'),
    split('test.jsonl'),
    ...result.syntheses.map((s) => ({
      name: `synthetic for cycle ${s.forCycle}`,
      count: s.dataset?.count ?? 0,
      sha256: s.dataset?.sha256 ?? '(none)',
    })),
  ];
}

/** Each answered request: what it asked, its attempt (from its header), and whether its reply was handed over. */
function callsOf(answered: readonly ServedRequest[]): AnsweredCall[] {
  return answered.map((r) => ({
    request: JSON.stringify([r.system, r.messages, r.schema]),
    attempt: attemptTagOf(r.headers?.[ATTEMPT_HEADER]),
    delivered: r.delivered === true,
  }));
}

/** The attempt that closed each activity with a result or a failure, from the histories the calls came from. */
async function closingAttempts(
  calls: readonly AnsweredCall[],
): Promise<(t: AttemptTag) => number | undefined> {
  const byExecution = new Map<string, Map<string, ActivityClosing>>();
  for (const { attempt: t } of calls) {
    if (!t || byExecution.has(`${t.workflowId}@${t.runId}`)) continue;
    byExecution.set(`${t.workflowId}@${t.runId}`, await activityClosings(client, t.workflowId, t.runId));
  }
  return (t) => {
    const closing = byExecution.get(`${t.workflowId}@${t.runId}`)?.get(t.activityId);
    return closing && !closing.timedOut ? closing.attempt : undefined;
  };
}

/** USD of what the test server billed, from its token counters and the pricing table. */
function billedUsd(stats: StartedServer['stats']): number {
  const price = priceOf(MODEL);
  const sync = costUsd(price, {
    inputTokens: stats.billedInputTokens - stats.batchInputTokens,
    outputTokens: stats.billedOutputTokens - stats.batchOutputTokens,
    cachedTokens: stats.billedCachedTokens,
  });
  const batch = costUsd(
    price,
    { inputTokens: stats.batchInputTokens, outputTokens: stats.batchOutputTokens, cachedTokens: 0 },
    { batch: true },
  );
  return sync + batch;
}

async function runMigration(prefix: string, chaos: boolean) {
  const run: Run = {
    prefix,
    artifacts: path.join(dir, prefix, 'artifacts'),
    ledger: path.join(dir, prefix, 'trainer-ledger.jsonl'),
    writes: path.join(dir, prefix, 'writes.jsonl'),
    log: path.join(dir, prefix, 'worker.log'),
  };
  await mkdir(run.artifacts, { recursive: true });
  const { server: provider, answered } = await startProvider(chaos);
  const started = Date.now();
  let worker = await startWorker(run, chaos);
  let kills = 0;
  let serverRestarts = 0;
  try {
    // The same migration id in both runs: synthesis seeds and record ids derive from it. The runs keep apart
    // by their artifact directories; the second start reuses the closed workflow's id.
    const id = 'chaos-migration';
    await client.workflow.start(migrationWorkflow, {
      taskQueue: TASK_QUEUES.workflow,
      workflowId: id,
      args: [
        { migrationId: id, config: config(id, `${provider.url}/v1`), tuning: { heartbeatTimeout: '5s' } },
      ],
    });
    let settled = false;
    const outcome = resultOf(id).then(
      (value) => ({ ok: true as const, value }),
      (reason: unknown) => ({ ok: false as const, reason }),
    );
    void outcome.finally(() => (settled = true));
    while (chaos && kills < MIN_KILLS && !settled) {
      await sleep(1500 + rand() * 3500);
      if (settled) break;
      const exited = new Promise((r) => worker.once('exit', r));
      if (worker.exitCode === null) worker.kill('SIGKILL');
      await exited;
      kills++;
      if (kills === SERVER_RESTART_AFTER_KILL) {
        console.log(`dev server stopped after kill ${kills}`);
        await server.stop();
        await sleep(2000);
        server = await startDevServer({ dbFile, port });
        serverRestarts++;
        console.log('dev server restarted on the same sqlite file');
      }
      worker = await startWorkerRetrying(run, chaos);
    }
    const result = await outcome;
    return {
      run,
      id,
      result,
      kills,
      serverRestarts,
      seconds: (Date.now() - started) / 1000,
      stats: provider.stats,
      billedUsd: billedUsd(provider.stats),
      answered,
    };
  } finally {
    const exited = new Promise((r) => worker.once('exit', r));
    if (worker.exitCode === null) worker.kill('SIGTERM');
    await exited;
    await provider.close();
  }
}

type Outcome = Awaited<ReturnType<typeof runMigration>>;

function completed(o: Outcome): MigrationResult | null {
  if (!o.result.ok) {
    console.error(`${o.run.prefix} run failed:`, o.result.reason);
    return null;
  }
  const r = o.result.value;
  const ok = (r.status === 'succeeded' || r.status === 'target-not-met') && r.cycles.length >= 3;
  if (!ok) console.error(`${o.run.prefix} run ended ${r.status} after ${r.cycles.length} cycle(s)`);
  return ok ? r : null;
}

/** Trainer steps that succeeded more than once, and finished outputs written more than once. */
function duplicated(o: Outcome): number {
  type Step = { event: string; step: string; spec: string };
  const steps = duplicatesBy(
    jsonl<Step>(o.run.ledger).filter((s) => s.event === 'ok'),
    (s) => s.spec,
  );
  // Checkpoints are rewritten by design as a shard progresses, and a trainer step's spec.json (its input) by
  // every attempt before it adopts the running step: those may repeat, a spec only with the same content.
  // Everything else is an output and must be written once.
  const all = jsonl<{ key: string; sha256: string }>(o.run.writes);
  const specs = duplicatesBy(
    all.filter((w) => w.key.endsWith('/spec.json')),
    (w) => `${w.key} ${w.sha256}`,
  );
  const specVersions = duplicatesBy(
    [...new Set(all.filter((w) => w.key.endsWith('/spec.json')).map((w) => `${w.key} ${w.sha256}`))],
    (k) => k.split(' ')[0]!,
  );
  if (specs.size)
    console.log(`${o.run.prefix}: ${specs.size} trainer spec(s) rewritten with the same content`);
  const writes = duplicatesBy(
    all.filter((w) => !w.key.endsWith('.checkpoint.json') && !w.key.endsWith('/spec.json')),
    (w) => w.key,
  );
  for (const [key, n] of specVersions) writes.set(`${key} (${n} different contents)`, n);
  for (const [spec, n] of steps) console.error(`trainer step ${spec} succeeded ${n} times`);
  for (const [key, n] of writes) console.error(`artifact ${key} written ${n} times`);
  return [...steps.values(), ...writes.values()].reduce((a, n) => a + n - 1, 0);
}

const outcomes: Outcome[] = [];
let failed = true;
let summary = 'chaos: run aborted';
try {
  const calm = await runMigration('calm', false);
  outcomes.push(calm);
  const chaos = await runMigration('chaos', true);
  outcomes.push(chaos);
  const calmResult = completed(calm);
  const chaosResult = completed(chaos);
  const injected = jsonl<{ event: string }>(chaos.run.ledger).filter((s) => s.event === 'injected').length;
  const s = chaos.stats;
  const providerFaults = s.got429 + s.got5xx + s.timeouts + s.malformed;
  const faults = chaos.kills + chaos.serverRestarts + providerFaults + injected;
  console.log(
    `faults: ${chaos.kills} worker kills, ${chaos.serverRestarts} dev server restart, ${injected} trainer ` +
      `preemption, provider ${providerFaults}/${s.requests} requests (${s.got429} 429, ${s.got5xx} 5xx, ` +
      `${s.timeouts} timeouts, ${s.malformed} malformed)`,
  );
  console.log(`time: calm ${calm.seconds.toFixed(0)} s, chaos ${chaos.seconds.toFixed(0)} s`);

  let lost = 0;
  if (calmResult && chaosResult) {
    const want = datasetsOf(calm.run, calm.id, calmResult);
    const got = datasetsOf(chaos.run, chaos.id, chaosResult);
    for (const [i, w] of want.entries()) {
      const g = got[i];
      const same = g && g.count === w.count && g.sha256 === w.sha256;
      console.log(
        `dataset ${w.name}: calm ${w.count} ${w.sha256.slice(0, 12)}, chaos ${g?.count ?? '-'} ` +
          `${g?.sha256.slice(0, 12) ?? '-'} ${same ? 'same' : 'DIFFERENT'}`,
      );
      if (!same) lost++;
    }
    if (got.length > want.length) lost += got.length - want.length;
    for (const c of await compareRuns(calm.run.artifacts, calmResult, chaos.run.artifacts, chaosResult)) {
      console.log(
        `${c.what}: ${c.items} compared, ${c.differing.length ? `${c.differing.length} DIFFERENT` : 'all the same'}`,
      );
      for (const d of c.differing.slice(0, 5)) console.error(`  differs: ${d}`);
      lost += c.differing.length;
    }
    for (const [name, o, r] of [
      ['calm', calm, calmResult],
      ['chaos', chaos, chaosResult],
    ] as const) {
      const t = r.spend.total;
      console.log(
        `spend ${name}: accounted $${t.usd.toFixed(6)} (${t.calls} calls, ${t.inputTokens} in, ${t.outputTokens} out), ` +
          `billed by the server $${o.billedUsd.toFixed(6)} (${o.stats.ok} answered, ` +
          `${o.stats.billedInputTokens} in, ${o.stats.billedOutputTokens} out): ` +
          `${o.stats.ok - t.calls} call(s) $${(o.billedUsd - t.usd).toFixed(6)} unaccounted`,
      );
    }
  }
  const dup = duplicated(calm) + duplicated(chaos);
  const started = 2;
  const done = [calmResult, chaosResult].filter(Boolean).length;
  const calmSpendOk =
    calmResult &&
    Math.abs(calm.billedUsd - calmResult.spend.total.usd) < 1e-6 &&
    calm.stats.ok === calmResult.spend.total.calls;
  if (!calmSpendOk) console.error('calm run: accounted spend differs from what the server billed');
  // Under faults the account falls short of the bill. It must lack the replies the server billed but could not
  // hand over for the attempt that closed its activity (a client that had timed out and hung up), and it may
  // lack besides the calls of the other attempts (in flight when a worker was killed, answered after the last
  // checkpoint, or made by an attempt that failed and was retried; their checkpointed results are accounted)
  // and replies handed over that the closing attempt asked for again (it timed out before reading them).
  // Every request names its attempt; the histories say which attempt closed each activity.
  const unaccounted = chaosResult ? chaos.stats.ok - chaosResult.spend.total.calls : 0;
  const untagged = callsOf(calm.answered).filter((c) => !c.attempt).length;
  const chaosCalls = callsOf(chaos.answered);
  const chaosLost = lostCalls(chaosCalls, await closingAttempts(chaosCalls));
  const chaosSpendOk =
    chaosResult &&
    chaosResult.spend.total.usd <= chaos.billedUsd + 1e-6 &&
    unaccounted >= chaosLost.undelivered &&
    unaccounted <= chaosLost.undelivered + chaosLost.askedAgain + chaosLost.deadAttempts &&
    untagged + chaosLost.untagged === 0;
  console.log(
    `spend: ${unaccounted} unaccounted call(s); ${chaosLost.undelivered} repl(ies) never handed over for the ` +
      `closing attempt, ${chaosLost.askedAgain} handed over and asked again, ${chaosLost.deadAttempts} call(s) ` +
      `of attempts that did not close their activity, ${untagged + chaosLost.untagged} without an attempt`,
  );
  if (!chaosSpendOk)
    console.error(
      'chaos run: the unaccounted calls are fewer than the replies never handed over, or more than those, the ' +
        "replies asked again and the dead attempts' calls (or the account exceeds the bill, or a request named " +
        'no attempt)',
    );
  failed =
    done !== started ||
    lost > 0 ||
    dup > 0 ||
    chaos.kills < REQUIRED_KILLS ||
    chaos.serverRestarts < 1 ||
    injected !== 1 ||
    [s.got429, s.got5xx, s.timeouts, s.malformed].some((n) => n === 0) ||
    !calmSpendOk ||
    !chaosSpendOk;
  summary = `chaos: ${faults} faults, ${done}/${started} completed, ${lost} lost, ${dup} duplicated`;
} finally {
  await connection.close();
  await server.stop();
  if (failed) {
    for (const o of outcomes)
      writeFileSync(
        path.join(dir, o.run.prefix, 'answered.jsonl'),
        o.answered
          .map(
            ({ headers, ...a }) =>
              JSON.stringify({ ...a, attempt: attemptTagOf(headers?.[ATTEMPT_HEADER]) }) + '\n',
          )
          .join(''),
      );
    console.error(`kept ${dir} for inspection (answered.jsonl: every request the server answered)`);
  } else await rm(dir, { recursive: true, force: true });
}
console.log(summary);
process.exit(failed ? 1 : 0);
