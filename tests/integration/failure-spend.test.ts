// Workflow logic (real dev server, test activities that behave as the real ones do at the budget):
// - a synthesis shard failing for good (an exhausted account) fails the migration with every shard's spend
//   counted, the failed one's included (the child passes its total on with its failure);
// - judging priced too low by its estimate stops at the budget: each judge shard gets a share it cannot pass,
//   the migration ends budget-exhausted and its spend counts the shards paid before the stop;
// - a migration cancelled while judging waits for its judge shards and counts what they paid;
// - a migration id is never reused: starting one under the id of a closed migration is refused.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { TASK_QUEUES } from '../../common/activities';
import type { MigrationConfig } from '../../common/config';
import type { Usage } from '../../common/types';
import { LocalArtifactStore } from '../../activities/store/local-store';
import { MigrationClient } from '../../client/migrations';
import { migrationWorkflow } from '../../workflows/migration-workflow';
import { progressQuery } from '../../workflows/messages';
import { createFakeActivities, usageOf } from '../fakes/fake-activities';
import { startTestEnv, runTestWorkers } from '../helpers/temporal-env';
import { testConfig } from '../helpers/test-config';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const close = (a: number, b: number) => Math.abs(a - b) < 1e-6;

describe('spend of failed and budget-stopped work (real dev server)', () => {
  let env: TestWorkflowEnvironment;
  let dir: string;
  let stopWorkers: (() => Promise<void>) | undefined;
  /** what each synthesis shard of the failing migration reported paying, the failed one's included */
  const synthPaid: Usage[] = [];
  /** what each cancelled judge shard reported paying */
  const judgePaid: Usage[] = [];
  let studentJudging = 0;

  before(async () => {
    env = await startTestEnv();
    dir = await mkdtemp(path.join(tmpdir(), 'llamaduo-failure-spend-'));
    const store = new LocalArtifactStore(path.join(dir, 'artifacts'));
    const fakes = createFakeActivities({
      store,
      ledger: path.join(dir, 'ledger.jsonl'),
      usdPerCall: 0.01,
      shardMs: 300,
      gpuMs: 20,
      // the student's judging of cycle 0 costs three times its estimate
      judgeUsdPerCall: (input) =>
        input.migrationId === 'judge-over' && input.subject === 'student' ? 0.03 : 0.01,
    });
    const activities = {
      ...fakes,
      async judgeShard(input: Parameters<typeof fakes.judgeShard>[0]) {
        if (input.migrationId !== 'judge-cancel' || input.subject !== 'student')
          return fakes.judgeShard(input);
        // judges until cancelled, then reports what its finished calls paid (as the real shard does)
        const ctx = Context.current();
        studentJudging++;
        while (!ctx.cancellationSignal.aborted) {
          ctx.heartbeat();
          await sleep(100);
        }
        const usage = usageOf(5, 0.01);
        judgePaid.push(usage);
        throw new CancelledFailure('judge shard cancelled', [{ usage }]);
      },
      async synthesizeShard(input: Parameters<typeof fakes.synthesizeShard>[0]) {
        if (input.migrationId !== 'synth-fail') return fakes.synthesizeShard(input);
        if (input.shard === 1) {
          await sleep(900); // after shard 0 finished and shard 2 started in its lane
          const usage = usageOf(3, 0.01);
          synthPaid.push(usage);
          throw ApplicationFailure.create({
            type: 'LlmError:quota',
            nonRetryable: true,
            message: 'openai: insufficient_quota (you exceeded your current quota)',
            details: [{ reason: 'quota', status: 429, usage }],
          });
        }
        const r = await fakes.synthesizeShard(input);
        synthPaid.push(r.usage);
        return r;
      },
    };
    stopWorkers = await runTestWorkers(env, activities);
  });

  after(async () => {
    await stopWorkers?.();
    await env?.teardown();
    await rm(dir, { recursive: true, force: true });
  });

  function config(id: string, maxUsd: number): MigrationConfig {
    return testConfig({
      name: id,
      target: { metric: 'precision', statistic: 'mean', atLeast: 99 },
      budget: { maxUsd },
      maxCycles: 2,
      synthesis: {
        teacher: { provider: 'openai', model: 'gpt-4o', batch: false },
        initialVolume: 400,
        requestsPerShard: 10,
        samplesPerRequest: 5,
        concurrentShards: 2,
      },
    });
  }

  const start = (id: string, maxUsd: number) =>
    env.client.workflow.start(migrationWorkflow, {
      taskQueue: TASK_QUEUES.workflow,
      workflowId: id,
      args: [{ migrationId: id, config: config(id, maxUsd) }],
    });

  it('a failed synthesis counts what every shard paid, the failed shard included', async () => {
    const handle = await start('synth-fail', 30);
    await assert.rejects(handle.result(), (err: Error) => {
      let e: unknown = err;
      while (e instanceof Error && e.cause instanceof Error) e = e.cause;
      assert.match((e as Error).message, /insufficient_quota/);
      return true;
    });
    const p = await handle.query(progressQuery);
    assert.equal(p.status, 'failed');
    assert.ok(synthPaid.length >= 2, `${synthPaid.length} shards reported`);
    const paid = synthPaid.reduce((s, u) => s + u.usd, 0);
    const counted = p.spend.byStage.synthesize?.usd ?? 0;
    assert.ok(close(counted, paid), `synthesis counted ${counted} USD, the shards paid ${paid}`);
    const stages = Object.values(p.spend.byStage).reduce((s, u) => s + u.usd, 0);
    assert.ok(close(p.spend.total.usd, stages), `total ${p.spend.total.usd} = stages ${stages}`);
  });

  it('judging that costs more than its estimate stops at the budget and counts what it paid', async () => {
    // teacher baseline 0.36 + its evaluation 1.44 + the base student's 4.32 = 6.12; cycle 0's judging is
    // estimated at 4.32 (fits in the 5.88 left) but would really cost 12.96
    const handle = await start('judge-over', 12);
    const result = await handle.result();
    assert.equal(result.status, 'budget-exhausted');
    assert.ok(result.spend.total.usd <= 12 + 1e-9, `spent ${result.spend.total.usd} of a 12 USD budget`);
    const evaluate = result.spend.byStage.evaluate?.usd ?? 0;
    assert.ok(evaluate > 1.44 + 4.32 + 1e-6, `evaluation spend ${evaluate} counts cycle 0's partial judging`);
    assert.equal(result.cycles.length, 0, 'no cycle is recorded from a partial evaluation');
  });

  it('a migration cancelled while judging counts what its cancelled judge shards paid', async () => {
    const handle = await start('judge-cancel', 30);
    for (let i = 0; i < 600 && studentJudging < 1; i++) await sleep(100);
    // teacher baseline evaluation 1.44 + the base student's 4.32 are paid; cycle 0's shards are in flight
    const before = (await handle.query(progressQuery)).spend.byStage.evaluate?.usd ?? 0;
    await handle.cancel();
    await assert.rejects(handle.result());
    const p = await handle.query(progressQuery);
    assert.equal(p.status, 'cancelled');
    assert.ok(judgePaid.length >= 1, 'the judge shards in flight were cancelled');
    const paid = judgePaid.reduce((s, u) => s + u.usd, 0);
    const counted = p.spend.byStage.evaluate?.usd ?? 0;
    assert.ok(close(counted, before + paid), `evaluation counted ${counted} USD = ${before} + ${paid}`);
  });

  it('a new migration under the id of a closed one is refused', async () => {
    const mc = new MigrationClient(env.client);
    await assert.rejects(
      mc.startMigration(config('judge-over', 12), { workflowId: 'judge-over', checkDataset: false }),
      /already exists \(running or closed\)/,
    );
  });
});
