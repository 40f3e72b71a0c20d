// The shared limiter against a server that enforces RPM/TPM, the concurrency bound, the spend limit, and
// the factory's key handling.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { LlmError } from '../../../activities/llm/errors';
import { createLlmClient, MissingApiKeyError } from '../../../activities/llm/factory';
import { LimiterRegistry, LocalRateLimiter } from '../../../activities/llm/limiter';
import { lateToleranceMs } from '../../../activities/llm/pacing';
import { SpendMeter } from '../../../activities/llm/spend';
import { maxInWindow } from '../../integration/shared-limits/replicas';
import { startOpenAiServer } from '../../servers/index';
import { harness, KEY, PROVIDERS } from './harness';

const openai = PROVIDERS[0];
const Ok = z.object({ ok: z.boolean() });
const respond = () => JSON.stringify({ ok: true });

describe('rate limiting', () => {
  it('keeps under the server RPM: no 429 when client and server agree on the limit', async () => {
    const { srv, client, model } = await harness(
      openai,
      { rpm: 1200, respond, latencyMs: [5, 20] },
      { modelExtra: { rpm: 1200 } },
    );
    try {
      const rs = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          client.generateStructured({ model, prompt: `q${i}`, maxOutputTokens: 20 }, Ok, { name: 'ok' }),
        ),
      );
      assert.equal(rs.filter((r) => r.ok).length, 50);
      assert.equal(srv.stats.got429, 0);
      assert.equal(srv.stats.requests, 50);
    } finally {
      await srv.close();
    }
  });

  it('keeps under the server TPM, counting prompt and output allowance as the server does', async () => {
    const { srv, client, model } = await harness(
      openai,
      { tpm: 30_000, respond },
      { modelExtra: { tpm: 30_000 } },
    );
    try {
      const prompt = 'word '.repeat(160); // 200 tokens + 100 allowance = 300 a request, 500 tokens/s allowed
      const rs = await Promise.all(
        Array.from({ length: 8 }, () =>
          client.generateStructured({ model, prompt, maxOutputTokens: 100 }, Ok, { name: 'ok' }),
        ),
      );
      assert.equal(rs.filter((r) => r.ok).length, 8);
      assert.equal(srv.stats.got429, 0);
    } finally {
      await srv.close();
    }
  });

  it('adapts when the server limit is lower than configured: 429s are waited out and nothing fails', async () => {
    const { srv, client, model } = await harness(
      openai,
      { rpm: 600, respond },
      { modelExtra: { rpm: 6000 } },
    );
    try {
      const rs = await Promise.all(
        Array.from({ length: 30 }, (_, i) =>
          client.generateStructured({ model, prompt: `q${i}`, maxOutputTokens: 20 }, Ok, { name: 'ok' }),
        ),
      );
      assert.equal(rs.filter((r) => r.ok).length, 30);
      assert.ok(srv.stats.got429 > 0, 'the server did push back');
      assert.ok(srv.stats.got429 < 30, `paused after 429s instead of hammering (${srv.stats.got429})`);
    } finally {
      await srv.close();
    }
  });

  it('adapts from 429s alone when the provider sends no limit headers (Gemini)', async () => {
    const { srv, client, model } = await harness(
      PROVIDERS[2],
      { rpm: 600, respond },
      { modelExtra: { rpm: 3000 } },
    );
    try {
      const rs = await Promise.all(
        Array.from({ length: 30 }, (_, i) =>
          client.generateStructured({ model, prompt: `q${i}`, maxOutputTokens: 20 }, Ok, { name: 'ok' }),
        ),
      );
      assert.equal(rs.filter((r) => r.ok).length, 30);
      assert.ok(srv.stats.got429 > 0, 'the server did push back');
    } finally {
      await srv.close();
    }
  });

  it('the per-process limiter obeys the window rule: no 1 s window gets more than its share', async () => {
    // 6,000 RPM with a 1 s window: a share of 100 requests; a burst setting far above what the window allows
    const limiter = new LocalRateLimiter({
      rpm: 6000,
      tpm: 1e9,
      maxConcurrency: 1000,
      windowSeconds: 1,
      burstSeconds: 5,
    });
    const got = await Promise.all(
      Array.from({ length: 300 }, () => limiter.acquire(10).then((p) => ({ p, at: performance.now() }))),
    );
    const permits = got.map((g) => g.p);
    for (const p of permits) p.release();
    assert.equal(limiter.stats.started, 300);
    // every request went within the late tolerance of its slot (2 requests' time: 20.9 ms; +5 ms for
    // the clock reading after the promise settled)
    const tolerance = lateToleranceMs(6000, limiter.limits, 1);
    const latest = Math.max(...got.map((g) => g.at - g.p.sendAt));
    assert.ok(latest <= tolerance + 5, `a request went ${latest.toFixed(1)} ms after its slot`);
    // the slots the requests went at (limiter clock): the bucket holds 2 of the 4 requests of slack, so
    // at most 97; a slot its process woke up too late for is forfeited, never sent late with others.
    // (The drain rate is the schedule's, asserted on a virtual clock in pacing.test.ts.)
    const sent = permits.map((p) => p.sendAt);
    const peak = maxInWindow(
      sent.map((t) => [t, 1]),
      1000,
    );
    assert.ok(peak <= 97, `${peak} requests went in a 1 s window, share 100`);
    const span = Math.max(...sent) - Math.min(...sent);
    assert.ok((sent.length - 1) / (span / 60_000) <= 6000, 'never above the limit on average');
  });

  it('bounds concurrent requests per model', async () => {
    let inFlight = 0;
    let peak = 0;
    const { srv, client, model } = await harness(
      openai,
      {
        respond: async () => {
          inFlight++;
          peak = Math.max(peak, inFlight);
          await new Promise((r) => setTimeout(r, 30));
          inFlight--;
          return JSON.stringify({ ok: true });
        },
      },
      { limits: { maxConcurrency: 3 } },
    );
    try {
      await Promise.all(
        Array.from({ length: 12 }, () =>
          client.generateStructured({ model, prompt: 'x' }, Ok, { name: 'ok' }),
        ),
      );
      assert.equal(peak, 3);
    } finally {
      await srv.close();
    }
  });

  it('shares one budget between clients of the same model in a worker', () => {
    const limiters = new LimiterRegistry();
    const model = { provider: 'openai' as const, model: 'gpt-4o', batch: false };
    assert.equal(limiters.for(model), limiters.for({ ...model }));
    assert.notEqual(limiters.for(model), limiters.for({ ...model, model: 'gpt-4o-mini' }));
    assert.equal(new LimiterRegistry().for({ ...model, rpm: 42 }).limits.rpm, 42);
  });
});

describe('spend limit', () => {
  it('stops before a call that could pass the budget, firing nothing', async () => {
    const spend = new SpendMeter(0.001);
    const { srv, client, model } = await harness(openai, { respond }, { spend });
    try {
      // worst case of one call: ~3 prompt tokens + 100 output tokens at $15/M = $0.0015 > $0.001
      const r = await client.generateStructured({ model, prompt: 'hi', maxOutputTokens: 100 }, Ok, {
        name: 'ok',
      });
      assert.equal(r.ok === false && r.reason, 'budget');
      assert.equal(srv.stats.requests, 0);
    } finally {
      await srv.close();
    }
  });

  it('spends up to the limit and never past it', async () => {
    const spend = new SpendMeter(0.0005);
    const { srv, client, model } = await harness(openai, { respond }, { spend });
    try {
      const outcomes: string[] = [];
      for (let i = 0; i < 20; i++) {
        const r = await client.generateStructured({ model, prompt: 'hi', maxOutputTokens: 20 }, Ok, {
          name: 'ok',
        });
        outcomes.push(r.ok ? 'ok' : r.reason);
      }
      assert.ok(outcomes.includes('ok') && outcomes.at(-1) === 'budget', outcomes.join(','));
      assert.ok(spend.spentUsd <= 0.0005);
      assert.equal(srv.stats.requests, outcomes.filter((o) => o === 'ok').length);
    } finally {
      await srv.close();
    }
  });
});

describe('createLlmClient', () => {
  const model = { provider: 'openai' as const, model: 'gpt-4o', batch: false };

  it('names the missing variable, never a value', () => {
    assert.throws(
      () => createLlmClient({ model, env: {} }),
      (e: unknown) => e instanceof MissingApiKeyError && /OPENAI_API_KEY/.test(e.message),
    );
    assert.throws(
      () =>
        createLlmClient({ model: { ...model, apiKeyEnv: 'TEAM_OPENAI_KEY' }, env: { OPENAI_API_KEY: KEY } }),
      /TEAM_OPENAI_KEY/,
    );
  });

  it('reads the key from the variable the config names', async () => {
    const srv = await startOpenAiServer({ apiKey: KEY, respond });
    try {
      const c = createLlmClient({
        model: { ...model, baseURL: `${srv.url}/v1`, apiKeyEnv: 'TEAM_OPENAI_KEY' },
        env: { TEAM_OPENAI_KEY: KEY, OPENAI_API_KEY: 'other' },
        limiters: new LimiterRegistry(),
      });
      assert.equal(
        (await c.generateStructured({ model: c.model, prompt: 'x' }, Ok, { name: 'ok' })).ok,
        true,
      );
      assert.equal(srv.stats.unauthorized, 0);
    } finally {
      await srv.close();
    }
  });

  it('talks to a self-hosted OpenAI-compatible server without a key', async () => {
    const srv = await startOpenAiServer({ respond });
    try {
      const c = createLlmClient({
        model: { provider: 'openai-compatible', model: 'llama3:8b', baseURL: `${srv.url}/v1`, batch: false },
        env: {},
        limiters: new LimiterRegistry(),
      });
      const r = await c.generateStructured({ model: c.model, prompt: 'x', maxOutputTokens: 50 }, Ok, {
        name: 'ok',
      });
      assert.equal(r.ok, true);
      assert.equal(r.usage.usd, 0);
      assert.equal(srv.stats.log[0]!.maxTokens, 50);
    } finally {
      await srv.close();
    }
  });

  it('fails a request the server rejects as bad without retrying it', async () => {
    const { srv, client, model } = await harness(openai, { respond });
    try {
      const err = await client.generate({ model, prompt: [] }).catch((e: unknown) => e);
      assert.ok(err instanceof LlmError && err.status === 400 && !err.retryable);
      assert.equal(srv.stats.requests, 0);
    } finally {
      await srv.close();
    }
  });
});
