// npm run test:metrics — the worker process as deployed (workers/main.ts: its runtime, /metrics endpoint,
// JSON logs) runs a one-cycle migration on a Temporal dev server with the real activities (local GPU backend,
// CPU trainer with the built-in tiny model; a local OpenAI-protocol server as teacher and judge, which
// answers some bursts 429). /metrics is scraped while the migration runs and after it, and the named series
// must be there with values that agree with the migration's own report.
import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { TASK_QUEUES } from '../../common/activities';
import type { MigrationResult } from '../../common/progress';
import { migrationWorkflow } from '../../workflows/migration-workflow';
import { scriptedTeacher } from '../chaos/scripted-teacher';
import { flowConfig } from '../flows/harness';
import { startTestEnv } from '../helpers/temporal-env';
import { startOpenAiServer, type StartedServer } from '../servers';
import { parsePrometheus, sumOf, type Sample } from './prometheus-text';

const ROOT = path.resolve(import.meta.dirname, '../..');
const API_KEY = 'sk-metrics-local-only';
const JUDGE_SCORE = 60;
const MIGRATION = 'metrics-run';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

let env: TestWorkflowEnvironment;
let provider: StartedServer;
let worker: ChildProcess;
let dir: string;
let metricsUrl: string;
const logLines: string[] = [];
// what the worker's OTLP/HTTP trace exporter posted (JSON encoding)
const traceBodies: string[] = [];
let otlp: Server;

async function scrape(): Promise<Sample[]> {
  const res = await fetch(metricsUrl);
  assert.equal(res.status, 200);
  return parsePrometheus(await res.text());
}

before(async () => {
  env = await startTestEnv();
  dir = await mkdtemp(path.join(tmpdir(), 'llamaduo-metrics-'));
  provider = await startOpenAiServer({
    apiKey: API_KEY,
    respond: (req) =>
      JSON.stringify(req.schema ?? '').includes('similarity_assessment')
        ? JSON.stringify({
            similarity_assessment: { score: JUDGE_SCORE, rationale: 'metrics test' },
            precision_assessment: { score: JUDGE_SCORE, rationale: 'metrics test' },
          })
        : scriptedTeacher(req),
    // one request a second per burst: the client (configured far higher) meets 429s and retries them
    rpm: 60,
    tpm: 1_000_000_000,
  });
  otlp = createHttpServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      if (req.url === '/v1/traces') traceBodies.push(body);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => otlp.listen(0, '127.0.0.1', r));
  const port = await freePort();
  metricsUrl = `http://127.0.0.1:${port}/metrics`;
  worker = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'workers/main.ts')], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      LLAMADUO_TOOLS: process.env.LLAMADUO_TOOLS,
      TEMPORAL_ADDRESS: env.address,
      TEMPORAL_NAMESPACE: env.namespace ?? 'default',
      LLAMADUO_ARTIFACTS: path.join(dir, 'artifacts'),
      LLAMADUO_HOME: path.join(dir, 'home'),
      LLAMADUO_METRICS_PORT: String(port),
      LLAMADUO_HEALTH_PORT: '0',
      LLAMADUO_LOG_LEVEL: 'DEBUG',
      OPENAI_API_KEY: API_KEY,
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${(otlp.address() as { port: number }).port}`,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let buf = '';
  worker.stdout!.on('data', (c: Buffer) => {
    buf += c.toString();
    const lines = buf.split('\n');
    buf = lines.pop()!;
    logLines.push(...lines);
  });
  // the worker bundles its workflows at start: wait for /metrics to answer
  const end = Date.now() + 180_000;
  for (;;) {
    if (worker.exitCode !== null) throw new Error(`worker exited ${worker.exitCode}`);
    const ok = await fetch(metricsUrl).then(
      (r) => r.ok,
      () => false,
    );
    if (ok && logLines.some((l) => l.includes('llamaduo worker:'))) break;
    if (Date.now() > end) throw new Error('worker did not start within 180 s');
    await new Promise((r) => setTimeout(r, 500));
  }
});

after(async () => {
  worker?.kill('SIGTERM');
  await new Promise((r) => (worker?.exitCode !== null ? r(undefined) : worker.once('exit', r)));
  await provider?.close();
  otlp?.close();
  await env?.teardown();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('worker /metrics during and after a migration', () => {
  let result: MigrationResult;
  const during: Sample[][] = [];
  let final: Sample[];

  before(async () => {
    const config = flowConfig(MIGRATION, `${provider.url}/v1`);
    const handle = await env.client.workflow.start(migrationWorkflow, {
      taskQueue: TASK_QUEUES.workflow,
      workflowId: MIGRATION,
      args: [{ migrationId: MIGRATION, config }],
    });
    let done = false;
    const scraping = (async () => {
      while (!done) {
        during.push(await scrape());
        await new Promise((r) => setTimeout(r, 1000));
      }
    })();
    try {
      result = await handle.result();
    } finally {
      done = true;
      await scraping;
    }
    final = await scrape();
  });

  it('exports spend by provider, model, stage and migration equal to the report', () => {
    const spend = sumOf(final, 'llamaduo_llm_spend_usd_total', { migration: MIGRATION });
    assert.ok(result.spend.total.usd > 0, JSON.stringify(result.spend.total));
    assert.ok(
      Math.abs(spend - result.spend.total.usd) < 1e-6,
      `metrics ${spend} vs report ${result.spend.total.usd}`,
    );
    const stages = new Set(
      final
        .filter((s) => s.name === 'llamaduo_llm_spend_usd_total' && s.labels.migration === MIGRATION)
        .map((s) => `${s.labels.provider}/${s.labels.model}/${s.labels.stage}`),
    );
    assert.ok(stages.has('openai/gpt-4o/judgeShard'), [...stages].join());
    assert.ok(stages.has('openai/gpt-4o/teacherBaseline'), [...stages].join());
    const tokens = (direction: string) =>
      sumOf(final, 'llamaduo_llm_tokens_total', { migration: MIGRATION, direction });
    assert.equal(tokens('input'), result.spend.total.inputTokens);
    assert.equal(tokens('output'), result.spend.total.outputTokens);
  });

  it('exports limiter waits and the 429s the provider answered', () => {
    assert.ok(
      sumOf(final, 'llamaduo_llm_limiter_wait_seconds_count', { model: 'gpt-4o' }) >=
        result.spend.total.calls,
    );
    assert.ok(
      sumOf(final, 'llamaduo_llm_rate_limited_total', { model: 'gpt-4o' }) > 0,
      'the server sent 429s',
    );
  });

  it('exports GPU step phases while they run and their durations after', () => {
    const runningSeen = during.some(
      (samples) => sumOf(samples, 'llamaduo_gpu_steps', { phase: 'running' }) > 0,
    );
    assert.ok(runningSeen, 'a scrape during the migration saw a running GPU step');
    assert.equal(sumOf(final, 'llamaduo_gpu_steps', {}), 0, 'nothing left waiting at the end');
    for (const step of ['finetune', 'generate']) {
      const count = sumOf(final, 'llamaduo_gpu_step_duration_seconds_count', { step, outcome: 'succeeded' });
      const total = sumOf(final, 'llamaduo_gpu_step_duration_seconds_sum', { step, outcome: 'succeeded' });
      assert.ok(count >= 1 && total > 0, `${step}: ${count} steps, ${total} s`);
    }
    assert.ok(sumOf(final, 'llamaduo_gpu_phase_transitions_total', { phase: 'running' }) >= 2);
  });

  it("exports the workflow's stage durations and cycle score through the SDK metric meter", () => {
    const score = final.find(
      (s) => s.name === 'llamaduo_cycle_score' && s.labels.migration === MIGRATION && s.labels.cycle === '0',
    );
    assert.ok(score, 'llamaduo_cycle_score for cycle 0');
    assert.ok(score.value >= 0 && score.value <= 100, String(score.value));
    assert.equal(score.value, result.cycles[0]!.score);
    const stages = new Set(
      final
        .filter((s) => s.name === 'llamaduo_stage_duration_seconds_count' && s.labels.migration === MIGRATION)
        .map((s) => s.labels.stage),
    );
    for (const stage of ['ingest', 'fine-tune', 'generate', 'evaluate'])
      assert.ok(stages.has(stage), [...stages].join());
    assert.ok(sumOf(final, 'llamaduo_stage_duration_seconds_sum', { migration: MIGRATION }) > 0);
  });

  it("serves the Temporal SDK runtime's own metrics on the same endpoint", () => {
    assert.ok(sumOf(final, 'temporal_workflow_completed_total', {}) >= 1);
    assert.ok(final.some((s) => s.name.startsWith('temporal_activity_execution_latency')));
  });

  it('has every series the Grafana dashboard (k8s/grafana) queries', () => {
    const dashboard = readFileSync(path.join(ROOT, 'k8s/grafana/llamaduo-dashboard.json'), 'utf8');
    const queried = new Set(dashboard.match(/\b(?:llamaduo|temporal)_[a-z0-9_]+/g));
    // counted only once something failed: absent from a run where nothing did
    const onFailure = new Set(['temporal_workflow_failed_total']);
    const exported = new Set(final.map((s) => s.name));
    const missing = [...queried].filter((n) => !exported.has(n) && !onFailure.has(n));
    assert.deepEqual(
      missing,
      [],
      `exported: ${[...exported].filter((n) => !n.startsWith('llamaduo_worker_')).join(' ')}`,
    );
  });

  it('logs JSON lines carrying the migration id and cycle', () => {
    const json = logLines.flatMap((l) => {
      try {
        return [JSON.parse(l) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
    assert.ok(
      json.length > 0 && json.length === logLines.filter((l) => l.trim()).length,
      'every line is JSON',
    );
    const activity = json.find((j) => j.migrationId === MIGRATION && j.cycle === 0 && j.activityType);
    assert.ok(activity, 'an activity log line with migrationId and cycle');
    const workflow = json.find((j) => j.migrationId === MIGRATION && j.workflowType === 'migrationWorkflow');
    assert.ok(workflow, 'a workflow log line with migrationId');
  });

  it('exports OpenTelemetry spans of the workflow and its activities when OTEL_EXPORTER_OTLP_ENDPOINT is set', async () => {
    // the batch span processor flushes every 5 s
    const end = Date.now() + 15_000;
    const has = (name: string) => traceBodies.some((b) => b.includes(name));
    while (!(has('RunWorkflow:migrationWorkflow') && has('RunActivity:fineTune')) && Date.now() < end)
      await new Promise((r) => setTimeout(r, 500));
    assert.ok(has('RunWorkflow:migrationWorkflow'), `${traceBodies.length} trace posts`);
    assert.ok(has('RunActivity:fineTune'));
  });
});
