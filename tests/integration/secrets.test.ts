// A whole migration on a real Temporal dev server whose LLM-calling activities are the real ones (clients from
// the per-model registry, pointed at the local provider servers), with the API keys only in the worker's
// environment. Afterwards no key may occur in any workflow history (every continue-as-new run and the
// synthesis child), in the artifact store or in the worker's log output. One judge's server rejects the key
// and echoes it back in its 401 body, so the scrubbing path is exercised too.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, type LogEntry, type Worker } from '@temporalio/worker';
import { LocalArtifactStore } from '../../activities/store/local-store';
import { temporalCliPath } from '../../client/dev-server';
import { InvalidConfigError, validateConfig } from '../../client/migrations';
import { TASK_QUEUES } from '../../common/activities';
import type { MigrationConfigInput } from '../../common/config';
import type { JudgmentRecord } from '../../activities/eval/judgment-record';
import { createActivities } from '../../workers/activities';
import { createWorkers } from '../../workers/create-workers';
import { readWorkerEnv } from '../../workers/worker-config';
import { migrationWorkflow } from '../../workflows/migration-workflow';
import {
  SA_BASE_MODEL,
  SA_BEST_SCORE,
  SA_CYCLE,
  SA_STATUS,
  SA_TEACHER,
} from '../../workflows/search-attributes';
import { createFakeActivities } from '../fakes/fake-activities';
import { workflowBundle } from '../helpers/temporal-env';
import { DOLLY } from '../helpers/test-config';
import {
  startAnthropicServer,
  startGeminiServer,
  startOpenAiServer,
  type StartedServer,
} from '../servers/index';

const nonce = Math.random().toString(36).slice(2, 10);
const KEYS = {
  OPENAI_API_KEY: `sk-test-SECRET-openai-${nonce}`,
  ANTHROPIC_API_KEY: `sk-ant_test_SECRET_anthropic_${nonce}`,
  GEMINI_API_KEY: `AIza-test-SECRET-gemini-${nonce}`,
};
const SECRETS = Object.values(KEYS);

/**
 * Every place a key could leak to, as text: payload bytes (Uint8Array, or base64 in a history's proto JSON)
 * decoded as UTF-8 beside their raw form.
 */
function asText(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (v instanceof Uint8Array) return Buffer.from(v).toString('utf8');
    // a Buffer has already been through its toJSON
    const b = v as { type?: unknown; data?: unknown };
    if (b && b.type === 'Buffer' && Array.isArray(b.data))
      return Buffer.from(b.data as number[]).toString('utf8');
    if (typeof v === 'bigint') return v.toString();
    if (typeof v === 'string' && v.length >= 8 && v.length % 4 === 0 && /^[A-Za-z0-9+/]+={0,2}$/.test(v))
      return `${v} ${Buffer.from(v, 'base64').toString('utf8')}`;
    return v;
  });
}

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true }))
    if (e.isFile()) out.push(path.join(e.parentPath, e.name));
  return out;
}

function assertNoSecret(text: string, where: string): void {
  for (const s of SECRETS) assert.ok(!text.includes(s), `${where} holds the key ${s.slice(0, 12)}...`);
}

describe('secrets never reach history, artifacts or logs (real LLM activities, real dev server)', () => {
  const logs: string[] = [];
  let env: TestWorkflowEnvironment;
  let dir: string;
  let servers: StartedServer[] = [];
  let rejecting: StartedServer;
  let workers: Worker[];
  let running: Promise<void>;
  let config: MigrationConfigInput;
  const restore: (() => void)[] = [];

  before(async () => {
    // The worker's log output: the SDK runtime logger (activity and workflow logs) at DEBUG, and stdout/stderr.
    Runtime.install({
      logger: new DefaultLogger('DEBUG', (e: LogEntry) => {
        logs.push(`${e.level} ${e.message} ${asText(e.meta ?? {})}`);
      }),
    });
    env = await TestWorkflowEnvironment.createLocal({
      server: {
        executable: { type: 'existing-path', path: temporalCliPath() },
        ip: '127.0.0.1',
        searchAttributes: [SA_STATUS, SA_CYCLE, SA_BEST_SCORE, SA_BASE_MODEL, SA_TEACHER],
        extraArgs: ['--log-level', 'error'],
      },
    });
    for (const stream of [process.stdout, process.stderr]) {
      const write = stream.write.bind(stream);
      stream.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
        logs.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
        return (write as (...a: unknown[]) => boolean)(chunk, ...rest);
      }) as typeof stream.write;
      restore.push(() => (stream.write = write));
    }

    dir = await mkdtemp(path.join(tmpdir(), 'llamaduo-secrets-'));
    servers = [
      await startOpenAiServer({ apiKey: KEYS.OPENAI_API_KEY }),
      await startAnthropicServer({ apiKey: KEYS.ANTHROPIC_API_KEY }),
      await startGeminiServer({ apiKey: KEYS.GEMINI_API_KEY }),
    ];
    // Wants another key, and echoes the one it got in its 401 body.
    rejecting = await startAnthropicServer({ apiKey: 'sk-ant-some-other-key' });
    const [openai, anthropic, google] = servers as [StartedServer, StartedServer, StartedServer];
    const fast = { rpm: 60_000, tpm: 100_000_000 };
    const teacher = { provider: 'openai', model: 'gpt-4o', baseURL: `${openai.url}/v1`, ...fast } as const;
    config = {
      name: 'secrets',
      dataset: { path: DOLLY, categories: ['closed_qa'], limit: 40 },
      split: { testRatio: 0.2, seed: 7 },
      baseModel: 'builtin:tiny-random-llama',
      evaluation: {
        judges: [
          teacher,
          { provider: 'anthropic', model: 'claude-3-sonnet', baseURL: anthropic.url, ...fast },
          { provider: 'google', model: 'gemini-1.5-flash', baseURL: google.url, ...fast },
          { provider: 'anthropic', model: 'claude-3-haiku', baseURL: rejecting.url, ...fast },
        ],
        repeats: 1,
        judgeCallsPerShard: 40,
      },
      inference: { responsesPerPrompt: 1 },
      target: { metric: 'precision', statistic: 'mean', atLeast: 99 },
      synthesis: { teacher, initialVolume: 20, requestsPerShard: 2, samplesPerRequest: 5 },
      maxCycles: 2,
    };

    const store = new LocalArtifactStore(dir);
    const real = createActivities(readWorkerEnv({ LLAMADUO_ARTIFACTS: dir }), { ...KEYS });
    const fakes = createFakeActivities({
      store,
      ledger: path.join(dir, '..', `${path.basename(dir)}.ledger`),
    });
    workers = await createWorkers({
      connection: env.nativeConnection,
      namespace: env.namespace ?? 'default',
      queues: ['workflow', 'data', 'llm', 'gpu'],
      activities: {
        ...real, // ingest, teacherBaseline, planEvaluation, judgeShard, summarizeEvaluation, report, promotion
        // GPU and synthesis stages are the test ones: the keys under test are the judges' and the teacher's
        fineTune: fakes.fineTune,
        generate: fakes.generate,
        planSynthesis: fakes.planSynthesis,
        synthesizeShard: fakes.synthesizeShard,
        curateSynthesis: fakes.curateSynthesis,
      },
      workflowBundle: await workflowBundle(),
      shutdownGraceTime: '1s',
    });
    running = Promise.all(workers.map((w) => w.run())).then(() => undefined);
  });

  after(async () => {
    for (const r of restore) r();
    for (const w of workers ?? []) w.shutdown();
    await running;
    await env?.teardown();
    await Promise.all([...servers, rejecting].filter(Boolean).map((s) => s.close()));
    if (dir) {
      await rm(dir, { recursive: true, force: true });
      await rm(path.join(dir, '..', `${path.basename(dir)}.ledger`), { force: true });
    }
  });

  it('runs a migration with real judges and leaves no key in any history, artifact or log line', async () => {
    const parsed = validateConfig(config);
    const handle = await env.client.workflow.start(migrationWorkflow, {
      taskQueue: TASK_QUEUES.workflow,
      workflowId: 'secrets-migration',
      args: [{ migrationId: 'secrets-migration', config: parsed }],
    });
    const result = await handle.result();
    assert.equal(result.status, 'target-not-met');
    assert.equal(result.cycles.length, 2);
    assert.equal(result.syntheses.length, 1);
    // the real judges were called with the right keys, and the rejecting server saw the key
    for (const s of servers) assert.ok(s.stats.ok > 0 && s.stats.unauthorized === 0);
    assert.ok(rejecting.stats.unauthorized > 0);
    assert.ok(result.spend.byStage['evaluate']!.usd > 0);

    // every execution on this fresh server: both continue-as-new runs and the synthesis child
    const executions: { workflowId: string; runId: string; type: string }[] = [];
    for await (const w of env.client.workflow.list())
      executions.push({ workflowId: w.workflowId, runId: w.runId, type: w.type });
    assert.equal(executions.filter((e) => e.workflowId === 'secrets-migration').length, 2);
    assert.ok(
      executions.some((e) => e.type === 'synthesisWorkflow'),
      JSON.stringify(executions),
    );
    let events = 0;
    for (const e of executions) {
      const history = await env.client.workflow.getHandle(e.workflowId, e.runId).fetchHistory();
      events += history.events?.length ?? 0;
      const text = asText(history);
      // payloads were decoded: the config (with a server URL) is readable in the first run's input
      if (e.runId === handle.firstExecutionRunId) {
        assert.ok(text.includes(servers[0]!.url), 'payloads decoded');
      }
      assertNoSecret(text, `history of ${e.workflowId}/${e.runId}`);
    }
    assert.ok(events > 50);

    const files = await filesUnder(dir);
    assert.ok(files.length > 10);
    let judgmentsSeen = false;
    for (const f of files) {
      const text = await readFile(f, 'utf8');
      assertNoSecret(text, f);
      if (f.endsWith('judgments.jsonl')) {
        const haiku = text
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as JudgmentRecord)
          .filter((r) => r.judge === 'anthropic/claude-3-haiku');
        if (haiku.length) {
          judgmentsSeen = true;
          assert.ok(
            haiku.every((r) => r.error?.message.includes('401')),
            'rejected calls are recorded failures',
          );
        }
      }
    }
    assert.ok(judgmentsSeen, 'the rejecting judge left failed judgments in the store');

    assert.ok(logs.length > 0, 'worker log output was captured');
    assertNoSecret(logs.join('\n'), 'worker log output');
  });

  it('refuses a config that carries a key', () => {
    const withKey = (where: 'judge' | 'teacher') => {
      const c = structuredClone(config) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
      if (where === 'judge') c.evaluation.judges[0].apiKey = KEYS.OPENAI_API_KEY;
      else c.synthesis.teacher.apiKey = KEYS.OPENAI_API_KEY;
      return c;
    };
    for (const [where, field] of [
      ['judge', 'evaluation.judges.0'],
      ['teacher', 'synthesis.teacher'],
    ] as const) {
      assert.throws(
        () => validateConfig(withKey(where), 'secrets.yaml'),
        (err: unknown) => {
          assert.ok(err instanceof InvalidConfigError);
          assert.ok(err.message.includes('secrets.yaml'), err.message);
          assert.ok(
            err.issues.some((i) => i.path.startsWith(field) && /apiKey/.test(i.path + i.message)),
            JSON.stringify(err.issues),
          );
          assertNoSecret(err.message, 'the validation error');
          return true;
        },
      );
    }
    // apiKeyEnv names a variable; a key in its place is refused too
    const c = structuredClone(config) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    c.evaluation.judges[1].apiKeyEnv = KEYS.ANTHROPIC_API_KEY;
    assert.throws(() => validateConfig(c), InvalidConfigError);
  });
});
