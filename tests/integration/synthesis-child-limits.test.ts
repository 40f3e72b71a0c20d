// Workflow logic: a budget change made on the migration while its synthesis child runs reaches the child
// (test activities that honour their budget share, as the real ones do; the real path is in tests/flows).
// Raised: the child goes on to the full volume; lowered to nothing: it launches no further shard.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { TASK_QUEUES } from '../../common/activities';
import type { SynthesisResult } from '../../common/types';
import { LocalArtifactStore } from '../../activities/store/local-store';
import { migrationWorkflow } from '../../workflows/migration-workflow';
import { progressQuery, setBudgetUpdate } from '../../workflows/messages';
import { synthesisProgressQuery, type synthesisWorkflow } from '../../workflows/synthesis-workflow';
import { createFakeActivities } from '../fakes/fake-activities';
import { startTestEnv, runTestWorkers } from '../helpers/temporal-env';
import { testConfig } from '../helpers/test-config';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('budget changes reach a running synthesis child (real dev server)', () => {
  let env: TestWorkflowEnvironment;
  let dir: string;
  let stopWorkers: (() => Promise<void>) | undefined;

  before(async () => {
    env = await startTestEnv();
    dir = await mkdtemp(path.join(tmpdir(), 'llamaduo-synth-limits-'));
    const store = new LocalArtifactStore(path.join(dir, 'artifacts'));
    const activities = createFakeActivities({
      store,
      ledger: path.join(dir, 'ledger.jsonl'),
      usdPerCall: 0.01,
      shardMs: 400,
      gpuMs: 20,
    });
    stopWorkers = await runTestWorkers(env, activities);
  });

  after(async () => {
    await stopWorkers?.();
    await env?.teardown();
    await rm(dir, { recursive: true, force: true });
  });

  async function startAndWaitForSynthesis(id: string, maxUsd: number) {
    const handle = await env.client.workflow.start(migrationWorkflow, {
      taskQueue: TASK_QUEUES.workflow,
      workflowId: id,
      args: [
        {
          migrationId: id,
          config: testConfig({
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
          }),
        },
      ],
    });
    const child = env.client.workflow.getHandle<typeof synthesisWorkflow>(`${id}/synthesis-1`);
    for (let i = 0; i < 600; i++) {
      const p = await child.query(synthesisProgressQuery).catch(() => null);
      if (p && p.shardsTotal > 0) return { handle, child, progress: p };
      await sleep(100);
    }
    const d = await handle.describe();
    const progress = await handle.query('progress').catch(() => null);
    throw new Error(
      `the synthesis child did not start: migration ${d.status.name}, ${JSON.stringify(progress)?.slice(0, 1500)}`,
    );
  }

  it('a raised budget lets the running child synthesize the full volume', async () => {
    // teacher baseline 0.36 + its evaluation 1.44 + the base student's 4.32 + cycle 0's 4.32 = 10.44 spent;
    // 4.32 kept for the next evaluation: the child starts with 0.28, about three shards' worth
    const { handle, child, progress } = await startAndWaitForSynthesis('raise', 15.04);
    assert.ok(Math.abs(progress.budgetUsd! - 0.28) < 1e-6, String(progress.budgetUsd));
    await handle.executeUpdate(setBudgetUpdate, { args: [30] });
    const synth: SynthesisResult = await child.result();
    assert.equal(synth.accepted, 400, 'the full volume');
    assert.ok(synth.usage.usd > 0.28, `spent ${synth.usage.usd} beyond the budget it started with`);
    assert.equal((await child.query(synthesisProgressQuery)).budgetUsd, 0.28 + (30 - 15.04));
    await handle.result();
  });

  it('a budget lowered to what is spent stops the child launching shards', async () => {
    const { handle, child, progress } = await startAndWaitForSynthesis('lower', 30);
    const { spend } = await handle.query(progressQuery);
    // leave the child nothing: the migration's budget minus the child's budget
    await handle.executeUpdate(setBudgetUpdate, { args: [30 - progress.budgetUsd!] });
    const atUpdate = await child.query(synthesisProgressQuery);
    const synth: SynthesisResult = await child.result();
    assert.ok(spend.total.usd <= 30 - progress.budgetUsd!);
    assert.equal((await child.query(synthesisProgressQuery)).budgetUsd, 0);
    assert.ok(synth.accepted < 400);
    assert.ok(
      synth.shards <= atUpdate.shardsDone + 2,
      `${synth.shards} shards ran; ${atUpdate.shardsDone} were done at the update, 2 in flight at most`,
    );
    const result = await handle.result();
    assert.equal(result.status, 'budget-exhausted');
  });
});
