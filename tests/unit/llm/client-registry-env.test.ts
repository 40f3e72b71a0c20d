// Transport tuning read from the worker environment by the client registry (LLAMADUO_LLM_*).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LlmError } from '../../../activities/llm/errors';
import { createClientRegistry, llmTuningFromEnv } from '../../../activities/llm/client-registry';
import { startOpenAiServer } from '../../servers';

describe('client registry tuning from the environment', () => {
  it('applies LLAMADUO_LLM_TIMEOUT_MS and LLAMADUO_LLM_ATTEMPTS to every call', async () => {
    // Each request is held for 30 s: only the client's own timeout can end it early.
    const srv = await startOpenAiServer({ faultSequence: ['timeout', 'timeout'], timeoutHoldMs: 30_000 });
    try {
      const clientFor = createClientRegistry({
        OPENAI_API_KEY: 'sk-test',
        LLAMADUO_LLM_TIMEOUT_MS: '200',
        LLAMADUO_LLM_ATTEMPTS: '2',
        LLAMADUO_LLM_BACKOFF_MS: '10',
      });
      const model = { provider: 'openai' as const, model: 'gpt-4o', baseURL: `${srv.url}/v1`, batch: false };
      const err = await clientFor(model)
        .generate({ model, prompt: 'hello' })
        .catch((e: unknown) => e);
      assert.ok(err instanceof LlmError);
      assert.equal(err.reason, 'timeout');
      assert.match(err.message, /request timed out/);
      assert.equal(srv.stats.requests, 2);
    } finally {
      await srv.close();
    }
  });

  it('leaves the defaults when unset and names the variable of a bad value', () => {
    assert.deepEqual(llmTuningFromEnv({}), {
      timeoutMs: undefined,
      maxAttempts: undefined,
      backoffMs: undefined,
    });
    assert.throws(
      () => llmTuningFromEnv({ LLAMADUO_LLM_TIMEOUT_MS: '-5' }),
      /LLAMADUO_LLM_TIMEOUT_MS must be a positive integer \(got "-5"\)/,
    );
  });
});
