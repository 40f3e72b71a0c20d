// The pipeline's own LlmClient (provider openai-compatible, as the offline demo configures teacher and
// judges) against the demo model server: the path `npm run demo` takes, with no API key anywhere.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { z } from 'zod';
import { createLlmClient } from '../../../activities/llm/factory';
import { ServiceModel } from '../../../common/config';
import { startLocalModelServer, type LocalModelServer } from '../../../demo/local-model/server';

let server: LocalModelServer;

before(async () => {
  server = await startLocalModelServer({ port: 0, contextSize: 2048 });
});

after(async () => {
  await server?.close();
});

test('generate and generateStructured work through the project LlmClient with no key', async () => {
  const model = ServiceModel.parse({
    provider: 'openai-compatible',
    model: server.modelId,
    baseURL: server.url,
  });
  const llm = createLlmClient({ model, env: {} });
  const text = await llm.generate({
    model,
    prompt: 'What is the capital of France? Answer in one short sentence.',
    temperature: 0,
    maxOutputTokens: 32,
  });
  assert.match(text.text, /paris/i);
  assert.ok(text.usage.inputTokens > 0 && text.usage.outputTokens > 0, JSON.stringify(text.usage));

  const Score = z.object({ score: z.number().int().min(0).max(100), capital: z.string() });
  const res = await llm.generateStructured(
    {
      model,
      system: 'You grade answers. Reply with JSON only.',
      prompt:
        'Question: What is the capital of France?\nAnswer given: Paris.\nGive a score from 0 to 100 and the correct capital.',
      temperature: 0,
      maxOutputTokens: 64,
    },
    Score,
    { name: 'score' },
  );
  assert.ok(res.ok, res.ok ? '' : `${res.reason}: ${res.message}`);
  assert.ok(res.value.score >= 0 && res.value.score <= 100);
  assert.match(res.value.capital, /paris/i);
});
