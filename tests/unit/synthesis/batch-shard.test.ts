// synthesizeShard with `teacher.batch: true` through the real OpenAI SDK against the local server: the shard's
// requests go out as one batch billed at the server's batch price, the batch id is stored right after
// submit, and an attempt that dies while the batch is queued is resumed by the next one without a second
// submit. Transient failures inside the batch are retried, not stored.
import { ActivityCancellationDetails } from '@temporalio/common';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createSynthesisActivities } from '../../../activities/synthesis/synthesize-shard';
import type { SynthesizeShardInput, SynthesizeShardResult } from '../../../common/types';
import { scriptedTeacher } from '../../chaos/scripted-teacher';
import { harness, PROVIDERS } from '../llm/harness';
import { splits, synthesisInput, withStore } from './fixtures';

async function shardInput(store: Parameters<typeof splits>[0]): Promise<SynthesizeShardInput> {
  const base = synthesisInput(await splits(store), 100);
  return {
    ...base,
    synthesis: { ...base.synthesis, teacher: { ...base.synthesis.teacher, batch: true } },
    round: 1,
    missing: 100,
    shard: 0,
    shards: 1,
    requests: 6,
  };
}

for (const p of PROVIDERS)
  test(`${p.provider}: a batch shard is billed at the batch price and a killed attempt resumes its batch`, () =>
    withStore(async (store) => {
      const { srv, client, model } = await harness(p, { respond: scriptedTeacher, batchDelayMs: 400 });
      try {
        const input = await shardInput(store);
        input.synthesis = { ...input.synthesis, teacher: { ...model, batch: true } };
        const acts = createSynthesisActivities({ store, llm: client, batchPollMs: 50 });

        const first = new MockActivityEnvironment({ heartbeatTimeoutMs: 3000 });
        let lastBeat: unknown;
        first.on('heartbeat', (d: { batch?: { batchId: string; state: string } }) => {
          lastBeat = d;
          // the worker dies while the provider still holds the batch
          if (d.batch?.batchId)
            first.cancel('WORKER_SHUTDOWN', new ActivityCancellationDetails({ workerShutdown: true }));
        });
        await assert.rejects(first.run(acts.synthesizeShard, input));
        assert.equal(srv.stats.batchesCreated, 1);
        assert.equal(srv.stats.ok, 0, 'nothing answered yet: the batch was still queued');

        const retry = new MockActivityEnvironment({
          heartbeatDetails: lastBeat,
          attempt: 2,
          heartbeatTimeoutMs: 3000,
        });
        const res: SynthesizeShardResult = await retry.run(acts.synthesizeShard, input);
        assert.equal(
          srv.stats.batchesCreated,
          1,
          'the retried attempt resumed the batch instead of paying again',
        );
        assert.equal(srv.stats.batchItems, 6);
        assert.equal(res.generated, 6 * 3);
        assert.equal(res.failed, 0);
        // the client's account of the shard equals the server's own bill, at its batch price
        assert.ok(srv.stats.batchUsd > 0);
        assert.ok(
          Math.abs(res.usage.usd - srv.stats.billedUsd) <= 6e-6,
          `${res.usage.usd} vs ${srv.stats.billedUsd}`,
        );
        assert.equal(srv.stats.batchUsd, srv.stats.billedUsd, 'all of it at the batch price');
      } finally {
        await srv.close();
      }
    }));

test('items that fail inside a batch are retried synchronously; an exhausted account fails the shard', () =>
  withStore(async (store) => {
    const { srv, client, model } = await harness(PROVIDERS[0], {
      respond: scriptedTeacher,
      faultSequence: ['ok', '5xx', 'ok', 'ok', 'ok', 'ok'],
    });
    try {
      const input = await shardInput(store);
      input.synthesis = { ...input.synthesis, teacher: { ...model, batch: true } };
      const acts = createSynthesisActivities({ store, llm: client, batchPollMs: 20 });
      const res: SynthesizeShardResult = await new MockActivityEnvironment().run(acts.synthesizeShard, input);
      assert.equal(res.generated, 6 * 3);
      assert.equal(srv.stats.batchItems, 6);
      assert.equal(srv.stats.requests - srv.stats.batchItems, 1, 'the failed item, once, synchronously');
      assert.ok(Math.abs(res.usage.usd - srv.stats.billedUsd) <= 7e-6);
    } finally {
      await srv.close();
    }
    const broke = await harness(PROVIDERS[0], { quotaExhausted: true });
    try {
      const input = await shardInput(store);
      input.round = 2;
      input.synthesis = { ...input.synthesis, teacher: { ...broke.model, batch: true } };
      const acts = createSynthesisActivities({ store, llm: broke.client, batchPollMs: 20 });
      await assert.rejects(
        new MockActivityEnvironment().run(acts.synthesizeShard, input),
        (e: { type?: string; nonRetryable?: boolean; message?: string }) =>
          e.type === 'LlmError:quota' && e.nonRetryable === true && /quota/.test(e.message ?? ''),
      );
      assert.equal(broke.srv.stats.quotaRefused, 1);
    } finally {
      await broke.srv.close();
    }
  }));
