// Workflow logic (real dev server): synthesis shards that are cancelled end with what they paid for, and it is
// counted. Test shards here run until cancelled, then end as the real shard does on a cancel request: with the
// samples of the requests they finished, and their usage.
// - a budget lowered below what the shards in flight may spend cancels them (they would spend their whole
//   share otherwise): the synthesis ends with their partial output and spend;
// - a cancelled migration waits for its cancelled shards and counts what they paid.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Context } from '@temporalio/activity';
import { WorkflowFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { TASK_QUEUES } from '../../common/activities';
import type { SynthesisResult, SynthesizeShardInput, SynthesizeShardResult, Usage } from '../../common/types';
import { LocalArtifactStore } from '../../activities/store/local-store';
import { migrationWorkflow } from '../../workflows/migration-workflow';
import { progressQuery, setBudgetUpdate } from '../../workflows/messages';
import { synthesisProgressQuery, type synthesisWorkflow } from '../../workflows/synthesis-workflow';
import { createFakeActivities, usageOf } from '../fakes/fake-activities';
import { startTestEnv, runTestWorkers } from '../helpers/temporal-env';
import { testConfig } from '../helpers/test-config';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const close = (a: number, b: number) => Math.abs(a - b) < 1e-6;

describe('cancelled synthesis shards end with what they paid (real dev server)', () => {
  let env: TestWorkflowEnvironment;
  let dir: string;
  let stopWorkers: (() => Promise<void>) | undefined;
  /** usage each cancelled shard reported, by migration */
  const paid = new Map<string, Usage[]>();

  before(async () => {
    env = await startTestEnv();
    dir = await mkdtemp(path.join(tmpdir(), 'llamaduo-synth-cancel-'));
    const store = new LocalArtifactStore(path.join(dir, 'artifacts'));
    const fakes = createFakeActivities({
      store,
      ledger: path.join(dir, 'ledger.jsonl'),
      usdPerCall: 0.01,
      shardMs: 50,
      gpuMs: 20,
    });
    const activities = {
      ...fakes,
      async synthesizeShard(input: SynthesizeShardInput): Promise<SynthesizeShardResult> {
        const ctx = Context.current();
        while (!ctx.cancellationSignal.aborted) {
          ctx.heartbeat({ shard: input.shard });
          await sleep(100);
        }
        if (!ctx.cancellationDetails?.cancelRequested) throw ctx.cancellationSignal.reason;
        // two requests finished before the cancel
        const usage = usageOf(2, 0.01);
        paid.set(input.migrationId, [...(paid.get(input.migrationId) ?? []), usage]);
        const key = `${input.migrationId}/cycle-${input.cycle}/synth/round-${input.round}/shard-${input.shard}.jsonl`;
        const samples = Array.from({ length: 2 * input.synthesis.samplesPerRequest }, (_, i) => ({
          messages: [
            { role: 'user', content: `partial s${input.shard} #${i}` },
            { role: 'assistant', content: `answer ${i}` },
          ],
        }));
        const raw = await store.writeJsonl(key, samples);
        return { raw, generated: samples.length, usage, failed: input.requests - 2 };
      },
    };
    stopWorkers = await runTestWorkers(env, activities);
  });

  after(async () => {
    await stopWorkers?.();
    await env?.teardown();
    await rm(dir, { recursive: true, force: true });
  });

  async function startAndWaitForShards(id: string) {
    const handle = await env.client.workflow.start(migrationWorkflow, {
      taskQueue: TASK_QUEUES.workflow,
      workflowId: id,
      args: [
        {
          migrationId: id,
          config: testConfig({
            name: id,
            target: { metric: 'precision', statistic: 'mean', atLeast: 99 },
            budget: { maxUsd: 30 },
            maxCycles: 2,
            synthesis: {
              teacher: { provider: 'openai', model: 'gpt-4o', batch: false },
              initialVolume: 400,
              requestsPerShard: 10,
              samplesPerRequest: 5,
              concurrentShards: 2,
            },
          }),
        },
      ],
    });
    const child = env.client.workflow.getHandle<typeof synthesisWorkflow>(`${id}/synthesis-1`);
    for (let i = 0; i < 600; i++) {
      const p = await child.query(synthesisProgressQuery).catch(() => null);
      const pending = p ? ((await child.describe()).raw.pendingActivities ?? []) : [];
      const started = pending.filter(
        (a) => a.activityType?.name === 'synthesizeShard' && a.lastStartedTime,
      ).length;
      if (p && started >= 2) return { handle, child, progress: p };
      await sleep(100);
    }
    throw new Error(`the synthesis shards of ${id} did not start`);
  }

  it('a budget lowered below what the shards in flight may spend cancels them; their spend is counted', async () => {
    const { handle, child, progress } = await startAndWaitForShards('lowered');
    const before = (await handle.query(progressQuery)).spend.total.usd;
    // leave the child nothing: its shards in flight (which never end by themselves here) are cancelled
    await handle.executeUpdate(setBudgetUpdate, { args: [30 - progress.budgetUsd!] });
    const synth: SynthesisResult = await child.result();
    const shards = paid.get('lowered') ?? [];
    assert.equal(shards.length, 2, 'both shards in flight were cancelled and ended');
    assert.equal(synth.shards, 2);
    assert.equal(synth.accepted > 0, true, 'the samples the cancelled shards paid for are kept');
    assert.ok(close(synth.usage.usd, 0.04), `the child counted ${synth.usage.usd} USD`);
    const result = await handle.result();
    assert.equal(result.status, 'budget-exhausted');
    assert.ok(close(result.spend.byStage.synthesize?.usd ?? 0, 0.04));
    assert.ok(close(result.spend.total.usd, before + 0.04), `${result.spend.total.usd} = ${before} + 0.04`);
  });

  it('a cancelled migration counts what its cancelled shards paid', async () => {
    const { handle } = await startAndWaitForShards('cancelled');
    await handle.cancel();
    await assert.rejects(handle.result(), WorkflowFailedError);
    const p = await handle.query(progressQuery);
    assert.equal(p.status, 'cancelled');
    const shards = paid.get('cancelled') ?? [];
    assert.equal(shards.length, 2, 'both shards in flight ended on the cancel');
    const counted = p.spend.byStage.synthesize?.usd ?? 0;
    assert.ok(close(counted, 0.04), `the migration counted ${counted} USD of synthesis`);
  });
});
