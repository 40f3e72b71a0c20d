// Money limits during synthesis, through the whole migration with the real activities: a stop request sent
// while the synthesis child runs reaches it and stops it within the shards already in flight; a budget that
// runs out during synthesis is overrun by at most one request's cost (the server's own bill decides); a budget
// lowered while shards run cancels the shards in flight, which end with the samples they paid for.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import type { SynthesisResult } from '../../common/types';
import { progressQuery, setBudgetUpdate, stopAfterCycleSignal } from '../../workflows/messages';
import { synthesisProgressQuery, type synthesisWorkflow } from '../../workflows/synthesis-workflow';
import type { StartedServer } from '../servers';
import {
  flowConfig,
  isSynthesis,
  provider,
  startFlowEnv,
  startMigration,
  startWorker,
  stopWorker,
  waitFor,
  type FlowEnv,
} from './llm-flow-harness';

describe('money limits during synthesis', () => {
  let flow: FlowEnv;
  let worker: ChildProcess;
  before(async () => {
    flow = await startFlowEnv();
    worker = await startWorker(flow);
  });
  after(async () => {
    await stopWorker(worker);
    await flow.close();
  });

  it('a stop during synthesis stops within one shard', async () => {
    // Slow synthesis requests: the stop arrives while shards are in flight.
    const server: StartedServer = await provider({ synthesisDelayMs: 400 });
    try {
      const id = 'stop-in-synthesis';
      const base = flowConfig(id, `${server.url}/v1`);
      const config = {
        ...base,
        synthesis: { ...base.synthesis, initialVolume: 60, requestsPerShard: 2, concurrentShards: 2 },
        maxCycles: 3,
      };
      const { requestsPerShard, concurrentShards } = config.synthesis;
      const handle = await startMigration(flow, id, config);
      const child = flow.env.client.workflow.getHandle<typeof synthesisWorkflow>(`${id}/synthesis-1`);
      const atStop = await waitFor('a finished synthesis shard', async () => {
        const p = await child.query(synthesisProgressQuery);
        return p.shardsDone >= 1 ? p : undefined;
      });
      await handle.signal(stopAfterCycleSignal, 'flow test');
      const askedAtStop = server.stats.log.filter(isSynthesis).length;

      const result = await handle.result();
      const synth: SynthesisResult = await child.result();
      const asked = server.stats.log.filter(isSynthesis).length;
      assert.equal(result.status, 'stopped');
      assert.equal(result.decisions.at(-1)!.outcome, 'stop-requested');
      assert.equal(result.cycles.length, 1, 'no further cycle after the stop');
      assert.equal(synth.stopped, true);
      assert.ok(
        atStop.shardsTotal > atStop.shardsDone + concurrentShards,
        `the plan had more shards to go (${atStop.shardsDone}/${atStop.shardsTotal})`,
      );
      // only the shards in flight when the stop arrived finished after it
      assert.ok(
        synth.shards <= atStop.shardsDone + concurrentShards,
        `${synth.shards} shards ran; ${atStop.shardsDone} were done at the stop`,
      );
      assert.ok(
        asked <= (atStop.shardsDone + concurrentShards) * requestsPerShard,
        `${asked} synthesis requests (${askedAtStop} at the stop)`,
      );
      console.log(
        `stop: ${atStop.shardsDone}/${atStop.shardsTotal} shards done at the stop, ${synth.shards} ran in all; ` +
          `${asked} synthesis requests (${askedAtStop} asked at the stop)`,
      );
    } finally {
      await server.close();
    }
  });

  it('a budget lowered during synthesis cancels the shards in flight; they keep what they paid for', async () => {
    // Long shards (40 requests, 8 at a time, 1.5 s each): the lowered budget arrives early in their life.
    const server: StartedServer = await provider({ synthesisDelayMs: 1500 });
    try {
      const id = 'lowered-in-synthesis';
      const base = flowConfig(id, `${server.url}/v1`);
      const config = {
        ...base,
        synthesis: { ...base.synthesis, initialVolume: 600, requestsPerShard: 40, concurrentShards: 2 },
        maxCycles: 3,
      };
      const { requestsPerShard, concurrentShards } = config.synthesis;
      const handle = await startMigration(flow, id, config);
      const child = flow.env.client.workflow.getHandle<typeof synthesisWorkflow>(`${id}/synthesis-1`);
      await waitFor('synthesis requests answered', async () => {
        const p = await child.query(synthesisProgressQuery);
        return p.shardsTotal > 0 && server.stats.log.filter(isSynthesis).length >= 1 ? p : undefined;
      });
      // the budget becomes what the migration has spent: nothing is left for the shards in flight
      const spent = (await handle.query(progressQuery)).spend.total.usd;
      await handle.executeUpdate(setBudgetUpdate, { args: [spent] });
      const billedAtUpdate = server.stats.billedUsd;

      const synth: SynthesisResult = await child.result();
      const result = await handle.result();
      const events = (await child.fetchHistory()).events ?? [];
      const cancelRequested = events.filter((e) => e.activityTaskCancelRequestedEventAttributes).length;
      const shardsCompleted = events.filter((e) => e.activityTaskCompletedEventAttributes).length - 1; // plan
      const asked = server.stats.log.filter(isSynthesis).length;
      assert.equal(result.status, 'budget-exhausted');
      assert.equal(cancelRequested, concurrentShards, 'the shards in flight were cancelled');
      assert.ok(shardsCompleted >= concurrentShards, 'and ended with what they had (not as failures)');
      assert.ok(synth.accepted > 0, 'the samples they paid for are kept');
      assert.ok(
        asked < concurrentShards * requestsPerShard,
        `${asked} synthesis requests: the shards stopped before their ${requestsPerShard} requests`,
      );
      // the requests in flight at the cancel finished (the provider bills them): what was billed is counted
      assert.ok(
        Math.abs(result.spend.total.usd - server.stats.billedUsd) <= 1e-6 * result.spend.total.calls,
        `billed ${server.stats.billedUsd}, counted ${result.spend.total.usd}`,
      );
      console.log(
        `lowered: budget ${spent.toFixed(6)} USD set with ${billedAtUpdate.toFixed(6)} billed; ${cancelRequested} shards cancelled, ` +
          `${asked} synthesis requests, ${synth.accepted} samples kept; billed ${server.stats.billedUsd.toFixed(6)}, counted ${result.spend.total.usd.toFixed(6)}`,
      );
    } finally {
      await server.close();
    }
  });

  it("budget overrun at most one request's cost", async () => {
    const server: StartedServer = await provider({});
    try {
      const id = 'budget-in-synthesis';
      const base = flowConfig(id, `${server.url}/v1`);
      // The baseline, two evaluations and a few synthesis shards fit; the 200 samples wanted do not.
      const maxUsd = 0.2;
      const config = {
        ...base,
        budget: { ...base.budget, maxUsd },
        synthesis: { ...base.synthesis, initialVolume: 200, requestsPerShard: 2, concurrentShards: 3 },
      };
      const handle = await startMigration(flow, id, config);
      const result = await handle.result();
      const oneRequest = Math.max(...server.stats.replyUsd);
      assert.ok(
        result.syntheses.length === 1 && result.syntheses[0]!.accepted < 200,
        'the budget cut synthesis short',
      );
      assert.ok(
        server.stats.billedUsd <= maxUsd + oneRequest,
        `billed ${server.stats.billedUsd} > budget ${maxUsd} + one request ${oneRequest}`,
      );
      assert.ok(Math.abs(result.spend.total.usd - server.stats.billedUsd) <= 1e-6 * result.spend.total.calls);
      console.log(
        `budget: ${result.status}, billed ${server.stats.billedUsd.toFixed(6)} USD of ${maxUsd} (one request at most ${oneRequest.toFixed(6)}); ` +
          `synthesis ${result.syntheses[0]!.usd.toFixed(6)} USD for ${result.syntheses[0]!.accepted}/200 samples`,
      );
    } finally {
      await server.close();
    }
  });
});
