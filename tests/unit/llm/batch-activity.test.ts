// runBatch inside a Temporal activity context: the heartbeat details carry the batch id, and a retried
// attempt (given those details, as Temporal does) resumes the same batch rather than paying for another.
import { ActivityCancellationDetails } from '@temporalio/common';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Context } from '@temporalio/activity';
import { MockActivityEnvironment } from '@temporalio/testing';
import { z } from 'zod';
import { runBatch, type BatchProgress } from '../../../activities/llm/batch';
import type { ServiceLlmClient } from '../../../activities/llm/service-client';
import { harness, PROVIDERS } from './harness';

const Label = z.object({ label: z.enum(['positive', 'negative']) });
const items = Array.from({ length: 4 }, (_, i) => ({
  id: `i${i}`,
  request: { prompt: `Review ${i}: great!` },
}));

/** What a judge/synthesis activity does with the helper. */
function labelActivity(client: ServiceLlmClient) {
  return async () => {
    const ctx = Context.current();
    const resume = (ctx.info.heartbeatDetails as BatchProgress | undefined)?.batchId;
    const r = await runBatch({
      client,
      items,
      schema: Label,
      name: 'label',
      resumeBatchId: resume,
      pollIntervalMs: 20,
      heartbeat: (p) => ctx.heartbeat(p),
      signal: ctx.cancellationSignal,
    });
    return { batchId: r.batchId, ok: [...r.results.values()].filter((x) => x.ok).length, usd: r.usage.usd };
  };
}

describe('batch in a Temporal activity', () => {
  it('heartbeats the batch id and a retried attempt resumes it', async () => {
    const { srv, client } = await harness(PROVIDERS[0], {
      respond: () => JSON.stringify({ label: 'positive' }),
      batchDelayMs: 300,
    });
    try {
      const first = new MockActivityEnvironment();
      const beats: BatchProgress[] = [];
      first.on('heartbeat', (d: BatchProgress) => {
        beats.push(d);
        if (d.state === 'running')
          first.cancel('WORKER_SHUTDOWN', new ActivityCancellationDetails({ workerShutdown: true }));
      });
      await assert.rejects(first.run(labelActivity(client)));
      const last = beats.at(-1)!;
      assert.ok(last.batchId, 'the batch id reached the heartbeat');

      const retry = new MockActivityEnvironment({ heartbeatDetails: last, attempt: 2 });
      const r = (await retry.run(labelActivity(client))) as { batchId: string; ok: number; usd: number };
      assert.equal(r.batchId, last.batchId);
      assert.equal(r.ok, 4);
      assert.ok(r.usd > 0);
      assert.equal(srv.stats.batchesCreated, 1, 'no second batch was paid for');
    } finally {
      await srv.close();
    }
  });
});
