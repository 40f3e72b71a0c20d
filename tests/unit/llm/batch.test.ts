// Batch APIs of the three providers through the real SDKs: results validated, items failing inside the
// batch retried synchronously, batch price applied, and a retried activity resuming the same batch.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { runBatch, type BatchProgress } from '../../../activities/llm/batch';
import { LlmError } from '../../../activities/llm/errors';
import { costUsd } from '../../../activities/llm/pricing';
import { SpendMeter } from '../../../activities/llm/spend';
import { harness, PROVIDERS } from './harness';

const Pair = z.object({ instruction: z.string().min(1), response: z.string().min(1) });
const items = Array.from({ length: 6 }, (_, i) => ({
  id: `req-${i}`,
  request: {
    system: 'Write one new example like the one shown.',
    prompt: `Example ${i}: say hello`,
    maxOutputTokens: 100,
  },
}));
const respond = (r: { messages: { content: string }[] }) => {
  const n = /Example (\d+)/.exec(r.messages[0]!.content)?.[1] ?? '?';
  return JSON.stringify({ instruction: `Greet person ${n}`, response: `Hello, person ${n}!` });
};

for (const p of PROVIDERS) {
  describe(`${p.provider} batch`, () => {
    it('validates results, retries failed items synchronously and bills the batch at half price', async () => {
      // item 1 errors inside the batch, item 2 comes back malformed, item 3 truncated; the rest are fine
      const { srv, client } = await harness(p, {
        respond,
        faultSequence: ['ok', '5xx', 'malformed', 'truncated'],
      });
      try {
        const beats: BatchProgress[] = [];
        const r = await runBatch({
          client,
          items,
          schema: Pair,
          name: 'pair',
          heartbeat: (b) => beats.push(b),
          pollIntervalMs: 20,
        });
        assert.equal(r.results.size, 6);
        for (const [id, res] of r.results) {
          assert.equal(res.ok, true, id);
          assert.equal(res.ok && res.value.response, `Hello, person ${id.slice(4)}!`);
        }
        assert.equal(r.retriedSync, 3);
        assert.equal(srv.stats.batchesCreated, 1);
        assert.equal(srv.stats.batchItems, 6);
        assert.equal(srv.stats.requests, 9, '6 batch items + 3 synchronous retries');
        assert.ok(
          beats.length >= 2 && beats.every((b) => b.batchId === r.batchId),
          'every heartbeat carries the batch id',
        );
        // what the server billed: batch tokens at the batch price, the rest at the normal price
        const syncIn = srv.stats.billedInputTokens - srv.stats.batchInputTokens;
        const syncOut = srv.stats.billedOutputTokens - srv.stats.batchOutputTokens;
        const expected =
          costUsd(
            client.price,
            {
              inputTokens: srv.stats.batchInputTokens,
              outputTokens: srv.stats.batchOutputTokens,
              cachedTokens: 0,
            },
            { batch: true },
          ) + costUsd(client.price, { inputTokens: syncIn, outputTokens: syncOut, cachedTokens: 0 });
        assert.ok(Math.abs(r.usage.usd - expected) < 1e-5, `${r.usage.usd} vs ${expected}`);
        assert.equal(r.usage.inputTokens, srv.stats.billedInputTokens);
      } finally {
        await srv.close();
      }
    });

    it('resumes the batch named in the last heartbeat instead of submitting another', async () => {
      const { srv, client } = await harness(p, { respond, batchDelayMs: 200 });
      try {
        const first = new AbortController();
        let lastBeat: BatchProgress | undefined;
        // the first attempt dies (worker lost) while the batch is still running
        await assert.rejects(
          runBatch({
            client,
            items,
            schema: Pair,
            name: 'pair',
            pollIntervalMs: 20,
            signal: first.signal,
            heartbeat: (b) => {
              lastBeat = b;
              if (b.state === 'running') first.abort(new Error('worker lost'));
            },
          }),
          /worker lost/,
        );
        assert.ok(lastBeat?.batchId);
        const r = await runBatch({
          client,
          items,
          schema: Pair,
          name: 'pair',
          pollIntervalMs: 20,
          resumeBatchId: lastBeat.batchId,
        });
        assert.equal(r.batchId, lastBeat.batchId);
        assert.equal(srv.stats.batchesCreated, 1);
        assert.equal([...r.results.values()].filter((x) => x.ok).length, 6);
      } finally {
        await srv.close();
      }
    });

    it('a worker killed between submit and storing the id: the retry finds the batch by its key, pays once', async () => {
      const { srv, client } = await harness(p, { respond, batchDelayMs: 100 });
      try {
        const idempotency = { key: 'shard0r1c2', since: Date.now() };
        const base = { client, items, schema: Pair, name: 'pair', pollIntervalMs: 20, idempotency };
        // the provider accepted the batch; the worker dies before the id is checkpointed
        await assert.rejects(
          runBatch({
            ...base,
            onSubmitted: () => Promise.reject(new Error('killed before the checkpoint')),
          }),
          /killed before the checkpoint/,
        );
        assert.equal(srv.stats.batchesCreated, 1);
        const stored: string[] = [];
        const r = await runBatch({ ...base, onSubmitted: async (id) => void stored.push(id) });
        assert.equal(srv.stats.batchesCreated, 1, 'no second batch');
        assert.deepEqual(stored, [r.batchId], 'the found batch is checkpointed');
        assert.equal([...r.results.values()].filter((x) => x.ok).length, 6);
        assert.ok(
          [...r.results.keys()].every((id) => /^req-\d$/.test(id)),
          'results keyed by the item ids',
        );
        // the same lookup once that batch ended still finds it; another key is another submission
        const again = await runBatch({ ...base, onSubmitted: async () => undefined });
        assert.equal(again.batchId, r.batchId);
        await runBatch({ ...base, idempotency: { key: 'shard1r1c2', since: Date.now() } });
        assert.equal(srv.stats.batchesCreated, 2);
      } finally {
        await srv.close();
      }
    });

    it('a cancelled run cancels its provider batch; a worker shutting down leaves it running', async () => {
      const { srv, client } = await harness(p, { respond, batchDelayMs: 600_000 });
      try {
        const attempt = (cancel: boolean) => {
          const stop = new AbortController();
          return runBatch({
            client,
            items,
            schema: Pair,
            name: 'pair',
            pollIntervalMs: 20,
            signal: stop.signal,
            cancelOnAbort: () => cancel,
            heartbeat: (b) => {
              if (b.state === 'running') stop.abort(new Error(cancel ? 'cancelled' : 'worker shutdown'));
            },
          });
        };
        await assert.rejects(attempt(false), /worker shutdown/);
        assert.equal(srv.stats.batchesCancelled, 0, 'left for the next attempt');
        await assert.rejects(attempt(true), /cancelled/);
        assert.equal(srv.stats.batchesCreated, 2);
        assert.equal(srv.stats.batchesCancelled, 1);
        assert.equal(srv.stats.batchItems, 0, 'nothing of either batch ran');
      } finally {
        await srv.close();
      }
    });
  });
}

describe('batch budget', () => {
  it('does not submit a batch whose worst case could pass the budget', async () => {
    const spend = new SpendMeter(0.0001);
    const { srv, client } = await harness(PROVIDERS[0], { respond }, { spend });
    try {
      await assert.rejects(
        runBatch({ client, items, schema: Pair, name: 'pair', pollIntervalMs: 20 }),
        (e: unknown) => e instanceof LlmError && e.reason === 'budget',
      );
      assert.equal(srv.stats.batchesCreated, 0);
      assert.equal(srv.stats.requests, 0);
    } finally {
      await srv.close();
    }
  });

  it('books what the batch billed against the budget', async () => {
    const spend = new SpendMeter(1);
    const { srv, client } = await harness(PROVIDERS[0], { respond }, { spend });
    try {
      const r = await runBatch({ client, items, schema: Pair, name: 'pair', pollIntervalMs: 20 });
      assert.ok(r.usage.usd > 0);
      assert.equal(spend.spentUsd, r.usage.usd);
      assert.ok(Math.abs(spend.remainingUsd - (1 - r.usage.usd)) < 1e-9);
    } finally {
      await srv.close();
    }
  });
});
