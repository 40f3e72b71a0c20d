// The migration workflow on a real Temporal dev server, with the real ingest activity and test activities
// for the other stages.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { TASK_QUEUES } from '../../common/activities';
import type { MigrationResult } from '../../common/progress';
import { ArtifactStore } from '../../activities/store/artifact-store';
import { LocalArtifactStore } from '../../activities/store/local-store';
import { createWorkers } from '../../workers/create-workers';
import { migrationWorkflow } from '../../workflows/migration-workflow';
import {
  progressQuery,
  setBudgetUpdate,
  setTargetUpdate,
  stopAfterCycleSignal,
} from '../../workflows/messages';
import { SA_BEST_SCORE, SA_CYCLE, SA_STATUS } from '../../workflows/search-attributes';
import { createFakeActivities, type FakeOptions } from '../fakes/fake-activities';
import { startTestEnv, workflowBundle } from '../helpers/temporal-env';
import { testConfig } from '../helpers/test-config';

describe('migration workflow (real dev server)', () => {
  let env: TestWorkflowEnvironment;
  let dir: string;
  let store: ArtifactStore;
  let ledger: string;
  let workers: Worker[];
  let running: Promise<void>;
  let fakeOptions: Partial<FakeOptions> = {};

  before(async () => {
    env = await startTestEnv();
    dir = await mkdtemp(path.join(tmpdir(), 'llamaduo-wf-'));
    store = new LocalArtifactStore(path.join(dir, 'artifacts'));
    ledger = path.join(dir, 'ledger.jsonl');
    const base = createFakeActivities({ store, ledger });
    // Options a test may change between runs without restarting workers.
    const activities = Object.fromEntries(
      Object.keys(base).map((name) => [
        name,
        (...args: unknown[]) =>
          (
            createFakeActivities({ store, ledger, ...fakeOptions }) as unknown as Record<
              string,
              (...a: unknown[]) => unknown
            >
          )[name]!(...args),
      ]),
    );
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
    for (const w of workers ?? []) w.shutdown();
    await running;
    await env?.teardown();
    await rm(dir, { recursive: true, force: true });
  });

  const start = (id: string, overrides: Parameters<typeof testConfig>[0] = {}) =>
    env.client.workflow.start(migrationWorkflow, {
      taskQueue: TASK_QUEUES.workflow,
      workflowId: id,
      args: [{ migrationId: id, config: testConfig({ name: id, ...overrides }) }],
    });

  it('cycles until the target is met, continuing-as-new between cycles', async () => {
    fakeOptions = {};
    const handle = await start('reach-target');
    const result: MigrationResult = await handle.result();
    // scores: 55, 65, 75, 85 -> target 80 met at cycle 3
    assert.equal(result.status, 'succeeded');
    assert.deepEqual(
      result.cycles.map((c) => c.cycle),
      [0, 1, 2, 3],
    );
    assert.ok(result.cycles.at(-1)!.score >= 80 && result.cycles[2]!.score < 80);
    assert.equal(result.decisions.at(-1)!.outcome, 'stop-target-met');
    // volume schedule 100, 200, 400 samples (cumulative), minus nothing: curation caps at wanted
    assert.deepEqual(
      result.syntheses.map((s) => [s.forCycle, s.wanted, s.accepted]),
      [
        [1, 100, 100],
        [2, 100, 100],
        [3, 200, 200],
      ],
    );
    assert.equal(result.cycles[3]!.syntheticSamples, 400);
    assert.ok(result.spend.total.usd > 0 && result.spend.byStage['synthesize']!.usd > 0);
    // one run per cycle: the history of each stays small
    const desc = await handle.describe();
    assert.equal(desc.status.name, 'COMPLETED');
    const first = env.client.workflow.getHandle('reach-target', handle.firstExecutionRunId);
    const firstDesc = await first.describe();
    assert.equal(firstDesc.status.name, 'CONTINUED_AS_NEW');
    assert.equal(desc.typedSearchAttributes.get(SA_STATUS), 'succeeded');
    assert.equal(desc.typedSearchAttributes.get(SA_CYCLE), 3);
    assert.ok((desc.typedSearchAttributes.get(SA_BEST_SCORE) ?? 0) >= 80);
    // train + test written once, each stage's outputs written exactly once
    const keys = (await readFile(ledger, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).key as string);
    assert.equal(new Set(keys).size, keys.length);
    const ingestReport = await store.readJson<{
      result: { train: { count: number }; test: { count: number } };
    }>('reach-target/data/ingest.json');
    assert.equal(ingestReport.result.train.count + ingestReport.result.test.count, 120);
  });

  it('picks the LoRA rank/alpha tier by the synthetic volume, not train + synthetic (paper Table 5)', async () => {
    fakeOptions = {};
    const id = 'lora-tier';
    const trainer = testConfig().trainer;
    trainer.loraSchedule = [
      { upToSamples: 100, rank: 2, alpha: 4 },
      { upToSamples: 200, rank: 4, alpha: 8 },
      { upToSamples: Number.MAX_SAFE_INTEGER, rank: 8, alpha: 16 },
    ];
    const handle = await start(id, {
      trainer,
      maxCycles: 4,
      target: { metric: 'precision', statistic: 'mean', atLeast: 99 },
    });
    const result = await handle.result();
    assert.deepEqual(
      result.cycles.map((c) => c.syntheticSamples),
      [0, 100, 200, 400],
    );
    const tiers = [];
    for (const c of result.cycles) {
      const adapter = await store.readJson<{ samples: number; lora: { rank: number; alpha: number } }>(
        `${id}/cycle-${c.cycle}/adapter.json`,
      );
      // every cycle also trains on the ~108-sample train split, which would push each one a tier up
      assert.ok(adapter.samples > c.syntheticSamples + 100);
      tiers.push([adapter.lora.rank, adapter.lora.alpha]);
    }
    assert.deepEqual(tiers, [
      [2, 4],
      [2, 4],
      [4, 8],
      [8, 16],
    ]);
  });

  it('measures the base student before cycle 0 and records the reference metric everywhere', async () => {
    fakeOptions = {};
    const config = testConfig({ name: 'base-first', maxCycles: 2 });
    config.evaluation.reference = { metric: 'exact-match' };
    const handle = await env.client.workflow.start(migrationWorkflow, {
      taskQueue: TASK_QUEUES.workflow,
      workflowId: 'base-first',
      args: [{ migrationId: 'base-first', config }],
    });
    const result = await handle.result();
    assert.equal(result.cycles.length, 2);
    const progress = await handle.query(progressQuery);
    const base = progress.base!;
    assert.ok(base, 'progress carries the base row');
    // the base generate has its own folder: it never reuses (or is reused as) cycle 0's output
    assert.match(base.generations.uri, /base-first\/base\/generations\.jsonl$/);
    assert.notEqual(base.generations.uri, result.cycles[0]!.generations.uri);
    assert.equal(base.score, result.cycles[0]!.score, 'judged like cycle 0 by the test judges');
    const tests = result.cycles[0]!.evaluation.reference!.samples;
    assert.ok(tests > 0);
    for (const s of [base.evaluation, progress.teacher!, ...result.cycles.map((c) => c.evaluation)]) {
      assert.equal(s.reference?.metric, 'exact-match');
      assert.equal(s.reference?.samples, tests);
    }
    assert.ok(result.spend.byStage['evaluate']!.calls > 0);
  });

  it('answers the progress query and stops after the cycle when asked', async () => {
    fakeOptions = { gpuMs: 1500 };
    const handle = await start('stop-me', {
      target: { metric: 'precision', statistic: 'mean', atLeast: 99 },
    });
    // wait until it is in its first fine-tune
    for (let i = 0; i < 100; i++) {
      const p = await handle.query(progressQuery);
      if (p.stage === 'fine-tune') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const p = await handle.query(progressQuery);
    assert.equal(p.stage, 'fine-tune');
    assert.equal(p.cycle, 0);
    assert.ok(p.teacher, 'teacher baseline is evaluated before cycle 0');
    await handle.signal(stopAfterCycleSignal, 'test');
    const result = await handle.result();
    assert.equal(result.status, 'stopped');
    assert.equal(result.cycles.length, 1);
    assert.equal(result.syntheses.length, 0);
  });

  it('validates target and budget updates', async () => {
    fakeOptions = { gpuMs: 1000 };
    const handle = await start('updates', {
      target: { metric: 'precision', statistic: 'mean', atLeast: 99 },
      maxCycles: 2,
    });
    const causeOf = (re: RegExp) => (err: Error) => {
      assert.match(String(err.cause), re);
      return true;
    };
    await assert.rejects(
      handle.executeUpdate(setTargetUpdate, {
        args: [{ metric: 'precision', statistic: 'mean', atLeast: 150 } as never],
      }),
      causeOf(/invalid target/),
    );
    await assert.rejects(handle.executeUpdate(setBudgetUpdate, { args: [-1] }), causeOf(/non-negative/));
    const newTarget = await handle.executeUpdate(setTargetUpdate, {
      args: [{ metric: 'precision', statistic: 'mean', atLeast: 50 }],
    });
    assert.equal(newTarget.atLeast, 50);
    const result = await handle.result();
    assert.equal(result.status, 'succeeded');
    assert.equal(result.cycles.length, 1);
  });

  // Per evaluation: 12 test prompts x 3 responses x 2 judges x 2 repeats = 144 calls; teacher answers: 36 calls.
  it('stops cleanly when the budget cannot pay for another cycle', async () => {
    fakeOptions = { usdPerCall: 0.01 };
    const handle = await start('budget', {
      target: { metric: 'precision', statistic: 'mean', atLeast: 99 },
      budget: { maxUsd: 8 },
    });
    const result = await handle.result();
    assert.equal(result.status, 'budget-exhausted');
    assert.equal(result.cycles.length, 1);
    // teacher baseline 36 calls, its evaluation 144, the student's 432 (single + both pairwise orders)
    assert.equal(result.spend.total.usd, 6.12);
    assert.equal(result.decisions.at(-1)!.outcome, 'stop-budget');
  });

  it('does not start an evaluation the budget cannot pay for', async () => {
    fakeOptions = { usdPerCall: 0.01 };
    const handle = await start('budget-eval', { budget: { maxUsd: 3 } });
    const result = await handle.result();
    assert.equal(result.status, 'budget-exhausted');
    assert.equal(result.cycles.length, 0);
    assert.equal(result.spend.total.usd, 1.8);
    assert.match(result.decisions.at(-1)!.reason, /cannot pay for evaluating cycle 0/);
  });

  it('fails with a clear, non-retried error on a bad dataset', async () => {
    fakeOptions = {};
    const handle = await start('bad-data', {
      dataset: { path: '/nonexistent/coverage.jsonl', maxRecordChars: 32000 },
    });
    await assert.rejects(handle.result(), (err: Error & { cause?: Error & { cause?: Error } }) => {
      const msg = String(err.cause?.cause?.message ?? err.cause?.message);
      assert.match(msg, /\/nonexistent\/coverage\.jsonl: cannot read file/);
      return true;
    });
  });

  it('promotes a re-migration only when it beats the promoted adapter on the same test split', async () => {
    const promotion = { channel: 'support' };
    const target = { metric: 'precision' as const, statistic: 'mean' as const, atLeast: 60 };
    fakeOptions = {};
    const first = await (await start('promo-1', { promotion, target })).result();
    assert.equal(first.promotion?.promoted, true);
    assert.equal(first.promotion?.reason, 'nothing promoted yet');

    fakeOptions = { promotedScore: 95 };
    const second = await (await start('promo-2', { promotion, target })).result();
    assert.equal(second.promotion?.promoted, false);
    assert.equal(second.promotion?.previous?.migrationId, 'promo-1');
    assert.ok(second.promotion!.previousScoreOnThisSplit! > 90);
    assert.ok(second.spend.byStage['promote']!.usd > 0, 'judging the promoted adapter is paid for');

    fakeOptions = { promotedScore: 40 };
    const third = await (await start('promo-3', { promotion, target })).result();
    assert.equal(third.promotion?.promoted, true);
    assert.match(third.promotion!.reason, /> promoted/);
    const current = await store.readJson<{ migrationId: string }>('promotions/support/current.json');
    assert.equal(current.migrationId, 'promo-3');
    const record = await store.readJson<{ comparison: { previous: { migrationId: string } } }>(
      'promotions/support/by-migration/promo-3.json',
    );
    assert.equal(record.comparison.previous.migrationId, 'promo-1');
  });
});
