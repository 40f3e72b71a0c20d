// An exhausted account, as each provider reports it through its real SDK: one request, classified as
// non-retryable quota exhaustion (never waited out as a rate limit), nothing billed.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LlmError } from '../../../activities/llm/errors';
import { harness, PROVIDERS } from './harness';

describe('quota exhausted', () => {
  for (const p of PROVIDERS) {
    it(`${p.provider}: fails at once as 'quota', not as a rate limit`, async () => {
      const { srv, client, model } = await harness(p, { quotaExhausted: true });
      try {
        const err = await client.generate({ model, prompt: 'hello' }).then(
          () => assert.fail('expected a failure'),
          (e: unknown) => e,
        );
        assert.ok(err instanceof LlmError);
        assert.equal(err.reason, 'quota');
        assert.equal(err.retryable, false);
        assert.match(err.message, /quota exhausted/);
        assert.equal(srv.stats.quotaRefused, 1, 'asked once, not retried');
        assert.equal(srv.stats.billedUsd, 0);
      } finally {
        await srv.close();
      }
    });
  }
});
