// Each provider, through its real SDK over HTTP, against its local wire-compatible server: structured
// output, every scripted failure mode, token/USD accounting against what the server billed, caching.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { LlmError } from '../../../activities/llm/errors';
import { costUsd } from '../../../activities/llm/pricing';
import { harness, KEY, PROVIDERS } from './harness';

const Judgment = z.object({
  similarity: z.number().int().min(0).max(100),
  precision: z.number().int().min(0).max(100),
  reason: z.string(),
});
const good = JSON.stringify({ similarity: 80, precision: 70, reason: 'close to the reference' });
const ask = {
  system: 'You are a strict judge.',
  prompt: 'Judge this answer.',
  temperature: 0.2,
  maxOutputTokens: 200,
};

for (const p of PROVIDERS) {
  describe(`${p.provider} client`, () => {
    it('returns a validated value and sends model, system, temperature, max tokens and the schema', async () => {
      const { srv, client, model } = await harness(p, { respond: () => good });
      try {
        const r = await client.generateStructured({ model, ...ask }, Judgment, { name: 'judgment' });
        assert.deepEqual(r, {
          ok: true,
          value: { similarity: 80, precision: 70, reason: 'close to the reference' },
          usage: r.usage,
          attempts: 1,
        });
        const seen = srv.stats.log[0]!;
        assert.equal(seen.model, p.model);
        assert.equal(seen.system, 'You are a strict judge.');
        assert.equal(seen.temperature, 0.2);
        assert.equal(seen.maxTokens, 200);
        const schema = seen.schema as { properties: Record<string, unknown>; required: string[] };
        assert.deepEqual(Object.keys(schema.properties).sort(), ['precision', 'reason', 'similarity']);
      } finally {
        await srv.close();
      }
    });

    it('feeds a malformed reply back and accepts the corrected one', async () => {
      const { srv, client, model } = await harness(p, { respond: () => good, faultSequence: ['malformed'] });
      try {
        const r = await client.generateStructured({ model, ...ask }, Judgment, { name: 'judgment' });
        assert.equal(r.ok, true);
        assert.equal(r.attempts, 2);
        assert.equal(srv.stats.malformed, 1);
        const retry = srv.stats.log[1]!.messages;
        assert.equal(retry.length, 3, 'prompt, bad reply, correction');
        assert.match(retry[2]!.content, /could not be used/);
      } finally {
        await srv.close();
      }
    });

    it('fails one item with invalid-output after bounded corrections, without throwing', async () => {
      const bad = JSON.stringify({ similarity: 'high', precision: 70, reason: 'x' });
      const { srv, client, model } = await harness(p, { respond: () => bad });
      try {
        const r = await client.generateStructured({ model, ...ask }, Judgment, { name: 'judgment' });
        assert.equal(r.ok, false);
        assert.equal(r.ok === false && r.reason, 'invalid-output');
        assert.equal(r.attempts, 3);
        assert.equal(srv.stats.requests, 3);
        assert.equal(r.usage.calls, 3, 'every billed reply is counted');
      } finally {
        await srv.close();
      }
    });

    it('classifies a reply cut at the token limit as truncated', async () => {
      const { srv, client, model } = await harness(p, {
        respond: () => good,
        faultSequence: ['truncated', 'truncated', 'truncated'],
      });
      try {
        const r = await client.generateStructured({ model, ...ask }, Judgment, { name: 'judgment' });
        assert.equal(r.ok === false && r.reason, 'truncated');
        assert.equal(srv.stats.truncated, 3);
      } finally {
        await srv.close();
      }
    });

    it('reports a refusal as refusal, without retrying it', async () => {
      const { srv, client, model } = await harness(p, { respond: () => good, faultSequence: ['refusal'] });
      try {
        const r = await client.generateStructured({ model, ...ask }, Judgment, { name: 'judgment' });
        assert.equal(r.ok === false && r.reason, 'refusal');
        assert.equal(srv.stats.requests, 1);
      } finally {
        await srv.close();
      }
    });

    it('a refused plain generation fails as refusal and carries what the billed reply cost', async () => {
      const { srv, client, model } = await harness(p, {
        respond: () => 'an answer',
        faultSequence: ['refusal'],
      });
      try {
        await assert.rejects(client.generate({ model, ...ask }), (err: LlmError) => {
          assert.equal(err.reason, 'refusal');
          assert.equal(err.usage?.calls, 1);
          assert.ok((err.usage?.usd ?? 0) > 0);
          assert.equal(err.usage?.inputTokens, srv.stats.billedInputTokens, 'the tokens the server billed');
          assert.equal(err.usage?.outputTokens, srv.stats.billedOutputTokens);
          return true;
        });
        assert.equal(srv.stats.requests, 1);
      } finally {
        await srv.close();
      }
    });

    it('waits out a 429 and retries, then succeeds', async () => {
      const { srv, client, model } = await harness(p, {
        respond: () => good,
        faultSequence: ['429'],
        timeScale: 10,
      });
      try {
        const t0 = performance.now();
        const r = await client.generateStructured({ model, ...ask }, Judgment, { name: 'judgment' });
        assert.equal(r.ok, true);
        assert.equal(srv.stats.got429, 1);
        assert.equal(srv.stats.requests, 2);
        // the server asked for 1 s / timeScale 10 = 100 ms (Anthropic's header has whole seconds: 1 s)
        assert.ok(performance.now() - t0 >= 90, 'retry-after honoured');
      } finally {
        await srv.close();
      }
    });

    it('retries 5xx and timeouts with backoff', async () => {
      const { srv, client, model } = await harness(
        p,
        { respond: () => good, faultSequence: ['5xx', 'timeout'], timeoutHoldMs: 5000 },
        { tuning: { timeoutMs: 300 } },
      );
      try {
        const r = await client.generateStructured({ model, ...ask }, Judgment, { name: 'judgment' });
        assert.equal(r.ok, true);
        assert.equal(srv.stats.got5xx, 1);
        assert.equal(srv.stats.timeouts, 1);
        assert.equal(srv.stats.requests, 3);
      } finally {
        await srv.close();
      }
    });

    it('retries a response whose HTTP body is cut mid-JSON', async () => {
      const { srv, client, model } = await harness(p, { respond: () => good, faultSequence: ['badBody'] });
      try {
        const r = await client.generateStructured({ model, ...ask }, Judgment, { name: 'judgment' });
        assert.equal(r.ok, true);
        assert.equal(srv.stats.badBodies, 1);
        assert.equal(srv.stats.requests, 2);
      } finally {
        await srv.close();
      }
    });

    it('gives up on persistent 5xx with a classified failure for that item', async () => {
      const { srv, client, model } = await harness(
        p,
        { respond: () => good, faults: { rate5xx: 1 } },
        { tuning: { maxAttempts: 3 } },
      );
      try {
        const r = await client.generateStructured({ model, ...ask }, Judgment, { name: 'judgment' });
        assert.equal(r.ok === false && r.reason, 'server-error');
        assert.equal(srv.stats.requests, 3);
        await assert.rejects(
          client.generate({ model, prompt: 'x' }),
          (e: unknown) => e instanceof LlmError && e.reason === 'server-error',
        );
      } finally {
        await srv.close();
      }
    });

    it('counts tokens and USD exactly as the server billed them', async () => {
      const { srv, client, model } = await harness(p, {
        respond: (r) =>
          JSON.stringify({ similarity: r.index % 100, precision: 50, reason: 'r'.repeat(r.index * 7) }),
        faults: { rateMalformed: 0.2 },
        seed: 7,
      });
      try {
        let input = 0;
        let output = 0;
        let usd = 0;
        for (let i = 0; i < 12; i++) {
          const r = await client.generateStructured(
            { model, ...ask, prompt: `item ${i} `.repeat(i + 1) },
            Judgment,
            {
              name: 'judgment',
            },
          );
          input += r.usage.inputTokens;
          output += r.usage.outputTokens;
          usd += r.usage.usd;
        }
        assert.ok(srv.stats.malformed > 0, 'some replies needed a retry');
        assert.equal(input, srv.stats.billedInputTokens);
        assert.equal(output, srv.stats.billedOutputTokens);
        const billed = costUsd(client.price, {
          inputTokens: srv.stats.billedInputTokens,
          outputTokens: srv.stats.billedOutputTokens,
          cachedTokens: srv.stats.billedCachedTokens,
        });
        assert.ok(Math.abs(usd - billed) < 1e-5, `${usd} vs ${billed}`);
      } finally {
        await srv.close();
      }
    });

    it('gets the shared prefix served from cache on repeat calls, at the cheaper rate', async () => {
      const rubric = 'Score similarity and precision from 0 to 100. '.repeat(120); // ~1,400 tokens
      const { srv, client, model } = await harness(p, { respond: () => good });
      try {
        const first = await client.generateStructured(
          { model, ...ask, system: rubric, cachePrefix: true },
          Judgment,
          {
            name: 'judgment',
          },
        );
        const second = await client.generateStructured(
          { model, ...ask, system: rubric, cachePrefix: true },
          Judgment,
          {
            name: 'judgment',
          },
        );
        assert.equal(first.usage.cachedTokens, 0);
        assert.ok(second.usage.cachedTokens >= 1024, `cached ${second.usage.cachedTokens}`);
        assert.equal(second.usage.inputTokens, first.usage.inputTokens);
        assert.ok(second.usage.usd < first.usage.usd);
      } finally {
        await srv.close();
      }
    });

    it('keeps the API key out of errors and results, even when the server echoes it', async () => {
      const { srv, client, model } = await harness(
        p,
        {},
        {
          env: {
            OPENAI_API_KEY: 'wrong-key-0000',
            ANTHROPIC_API_KEY: 'wrong-key-0000',
            GEMINI_API_KEY: 'wrong-key-0000',
          },
        },
      );
      try {
        const err = await client.generate({ model, prompt: 'x' }).catch((e: unknown) => e);
        assert.ok(err instanceof LlmError);
        assert.equal(err.reason, 'other');
        assert.equal(err.retryable, false);
        assert.doesNotMatch(JSON.stringify({ m: err.message, s: err.stack }), /wrong-key-0000/);
        const r = await client.generateStructured({ model, prompt: 'x' }, Judgment, { name: 'j' });
        assert.doesNotMatch(JSON.stringify(r), /wrong-key-0000|TEST-4f9a/);
        assert.equal(srv.stats.unauthorized, 2);
      } finally {
        await srv.close();
      }
      assert.ok(KEY.length > 10);
    });
  });
}
