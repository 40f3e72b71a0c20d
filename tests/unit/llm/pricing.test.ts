import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ServiceModel } from '../../../common/config';
import { synthesisCost } from '../../../activities/llm/cost-report';
import { costUsd, priceOf, UnknownPriceError } from '../../../activities/llm/pricing';

const m = (
  provider: ServiceModel['provider'],
  model: string,
  extra: Partial<ServiceModel> = {},
): ServiceModel => ({
  provider,
  model,
  batch: false,
  ...extra,
});

describe('pricing', () => {
  it('prices GPT-4o as the paper does: $5 / $15 per million tokens', () => {
    const p = priceOf(m('openai', 'gpt-4o-2024-08-06'));
    assert.equal(costUsd(p, { inputTokens: 1_000_000, outputTokens: 0, cachedTokens: 0 }), 5);
    assert.equal(costUsd(p, { inputTokens: 0, outputTokens: 1_000_000, cachedTokens: 0 }), 15);
    // the paper's light workload: 10M in + 1M out a day = $65
    assert.equal(costUsd(p, { inputTokens: 10_000_000, outputTokens: 1_000_000, cachedTokens: 0 }), 65);
  });

  it('picks the longest model-name prefix and applies the batch and cache rates', () => {
    assert.equal(priceOf(m('openai', 'gpt-4o-mini')).inputPerMTok, 0.15);
    assert.equal(priceOf(m('anthropic', 'claude-3-sonnet-20240229')).outputPerMTok, 15);
    assert.equal(priceOf(m('google', 'models/gemini-1.5-flash-002')).inputPerMTok, 0.075);
    const p = priceOf(m('openai', 'gpt-4o'));
    const t = { inputTokens: 2_000_000, outputTokens: 1_000_000, cachedTokens: 1_000_000 };
    assert.equal(costUsd(p, t), 5 + 2.5 + 15);
    assert.equal(costUsd(p, t, { batch: true }), (5 + 2.5 + 15) / 2);
  });

  it('refuses to guess the price of an unknown model, and takes a price from config', () => {
    assert.throws(
      () => priceOf(m('openai', 'o9-ultra')),
      (e: unknown) => e instanceof UnknownPriceError && /add "price"/.test(e.message),
    );
    const p = priceOf(m('openai', 'o9-ultra', { price: { inputPerMTok: 1, outputPerMTok: 2 } }));
    assert.equal(costUsd(p, { inputTokens: 1e6, outputTokens: 1e6, cachedTokens: 0 }), 3);
    assert.equal(
      priceOf(m('openai-compatible', 'llama3:8b', { baseURL: 'http://127.0.0.1:1/v1' })).inputPerMTok,
      0,
    );
  });

  it('reports a 10k-sample synthesis costing at most 55% with the batch API', () => {
    const r = synthesisCost({
      teacher: m('openai', 'gpt-4o'),
      samples: 10_000,
      samplesPerRequest: 5,
      promptTokens: 450,
      outputTokensPerSample: 160,
    });
    assert.equal(r.requests, 2000);
    assert.equal(r.syncUsd, 0.9 * 5 + 1.6 * 15);
    assert.ok(r.batchUsd <= 0.55 * r.syncUsd);
    assert.equal(r.batchShare, 0.5);
  });
});
