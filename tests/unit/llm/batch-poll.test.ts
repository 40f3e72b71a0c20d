// runBatch while the network to the provider fails during the wait, through the real SDKs and a TCP proxy in
// front of the local server: polls that fail for the moment are retried with backoff (heartbeating
// meanwhile) instead of failing an attempt that may have waited hours; what waiting cannot fix still fails.
import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { runBatch, type BatchProgress } from '../../../activities/llm/batch';
import { LlmError } from '../../../activities/llm/errors';
import { createLlmClient } from '../../../activities/llm/factory';
import { LimiterRegistry } from '../../../activities/llm/limiter';
import { harness, KEY, PROVIDERS } from './harness';

const Pair = z.object({ instruction: z.string().min(1), response: z.string().min(1) });
const items = Array.from({ length: 3 }, (_, i) => ({
  id: `req-${i}`,
  request: { system: 'Write one new example.', prompt: `Example ${i}`, maxOutputTokens: 100 },
}));

/** A TCP proxy that can cut every open connection and refuse the next `n` ones (a network blip). */
async function startProxy(target: string) {
  const { hostname, port } = new URL(target);
  const open = new Set<net.Socket>();
  let refuse = 0;
  let refused = 0;
  const server = net.createServer((sock) => {
    sock.on('error', () => undefined);
    if (refuse > 0) {
      refuse--;
      refused++;
      sock.destroy();
      return;
    }
    const up = net.connect(Number(port), hostname);
    up.on('error', () => sock.destroy());
    open.add(sock).add(up);
    sock.on('close', () => (open.delete(sock), up.destroy()));
    up.on('close', () => (open.delete(up), sock.destroy()));
    sock.pipe(up).pipe(sock);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port: own } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${own}`,
    blip(n: number) {
      refuse = n;
      for (const s of open) s.destroy();
    },
    get refused() {
      return refused;
    },
    close: () => {
      for (const s of open) s.destroy();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}

describe('batch polling through network failures', () => {
  for (const p of PROVIDERS)
    it(`${p.provider}: polls failing for the moment are retried, heartbeating, and the batch ends`, async () => {
      const srv = await p.start({ apiKey: KEY, batchDelayMs: 300 });
      const relay = await startProxy(srv.url);
      const client = createLlmClient({
        model: { provider: p.provider, model: p.model, baseURL: p.base(relay.url), batch: true },
        env: { OPENAI_API_KEY: KEY, ANTHROPIC_API_KEY: KEY, GEMINI_API_KEY: KEY },
        limiters: new LimiterRegistry(),
        tuning: { timeoutMs: 2000, backoffMs: 10, maxBackoffMs: 50 },
      });
      try {
        const beats: BatchProgress[] = [];
        const r = await runBatch({
          client,
          items,
          schema: Pair,
          name: 'pair',
          onSubmitted: async () => relay.blip(3),
          heartbeat: (b) => beats.push(b),
          pollIntervalMs: 20,
        });
        assert.equal(relay.refused, 3, 'three polls met a dead connection');
        assert.equal(r.results.size, 3);
        assert.ok([...r.results.values()].every((x) => x.ok));
        assert.equal(srv.stats.batchesCreated, 1);
        assert.equal(r.retriedSync, 0);
        const whileDown = beats.filter((b) => b.state === 'running' && b.done === undefined);
        assert.ok(whileDown.length >= 3, `${whileDown.length} heartbeats while the polls failed`);
      } finally {
        await relay.close();
        await srv.close();
      }
    });

  it('a poll that waiting cannot fix (an unknown batch) fails at once, not retried', async () => {
    const { srv, client } = await harness(PROVIDERS[0]);
    try {
      await assert.rejects(
        runBatch({
          client,
          items,
          schema: Pair,
          name: 'pair',
          resumeBatchId: 'batch_unknown',
          pollIntervalMs: 20,
        }),
        (e) => e instanceof LlmError && !e.retryable,
      );
    } finally {
      await srv.close();
    }
  });
});
