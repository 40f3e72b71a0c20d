// The demo model server with the real SmolLM2 model (installed by `npm run setup:demo-model`), called
// through the official openai SDK as the pipeline's OpenAI path calls a provider.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import OpenAI from 'openai';
import { zodResponseFormat } from 'openai/helpers/zod';
import { z } from 'zod';
import { startLocalModelServer, type LocalModelServer } from '../../../demo/local-model/server';

let server: LocalModelServer;
let client: OpenAI;

before(async () => {
  server = await startLocalModelServer({ port: 0, contextSize: 2048 });
  client = new OpenAI({ baseURL: server.url, apiKey: 'unused-local', maxRetries: 0 });
});

after(async () => {
  await server?.close();
});

test('listens on loopback and lists the model', async () => {
  assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/v1$/);
  const models = await client.models.list();
  assert.deepEqual(
    models.data.map((m) => m.id),
    ['smollm2-135m-instruct'],
  );
});

test('plain chat answers a factual question', async () => {
  const res = await client.chat.completions.create({
    model: 'smollm2-135m-instruct',
    messages: [{ role: 'user', content: 'What is the capital of France? Answer in one short sentence.' }],
    temperature: 0,
    max_tokens: 32,
  });
  const choice = res.choices[0]!;
  assert.match(choice.message.content ?? '', /paris/i);
  assert.equal(choice.finish_reason, 'stop');
  assert.ok(res.usage!.prompt_tokens > 10, `prompt_tokens ${res.usage!.prompt_tokens}`);
  assert.ok(res.usage!.completion_tokens > 0);
  assert.equal(res.usage!.total_tokens, res.usage!.prompt_tokens + res.usage!.completion_tokens);
});

const Judgment = z.object({
  score: z.number().int().min(0).max(100),
  verdict: z.enum(['correct', 'incorrect']),
  capital: z.string(),
});

test('json_schema structured output is grammar-constrained to the schema', async () => {
  const res = await client.chat.completions.parse({
    model: 'smollm2-135m-instruct',
    messages: [
      { role: 'system', content: 'You grade answers. Reply with JSON only.' },
      {
        role: 'user',
        content:
          'Question: What is the capital of France?\nAnswer given: Paris.\nGive a score from 0 to 100, a verdict, and the correct capital.',
      },
    ],
    temperature: 0,
    max_tokens: 64,
    response_format: zodResponseFormat(Judgment, 'judgment'),
  });
  const choice = res.choices[0]!;
  assert.equal(choice.finish_reason, 'stop');
  const parsed = Judgment.parse(JSON.parse(choice.message.content ?? ''));
  assert.deepEqual(choice.message.parsed, parsed);
  assert.match(parsed.capital, /paris/i);
});

test('max_tokens ends a generation with finish_reason length; concurrent requests queue and both finish', async () => {
  const ask = () =>
    client.chat.completions.create({
      model: 'smollm2-135m-instruct',
      messages: [{ role: 'user', content: 'Write a long story about a lighthouse keeper.' }],
      temperature: 0.7,
      seed: 7,
      max_tokens: 4,
    });
  const [a, b] = await Promise.all([ask(), ask()]);
  for (const res of [a, b]) {
    assert.equal(res.choices[0]!.finish_reason, 'length');
    assert.equal(res.usage!.completion_tokens, 4);
    assert.ok((res.choices[0]!.message.content ?? '').length > 0);
  }
});

test('a caller that disconnects stops its generation; the next request is answered', async () => {
  const health = async () =>
    (await (await fetch(server.url.replace(/\/v1$/, '/health'))).json()) as { abandoned: number };
  const before = (await health()).abandoned;
  const abort = new AbortController();
  const long = client.chat.completions.create(
    {
      model: 'smollm2-135m-instruct',
      messages: [{ role: 'user', content: 'Write a very long story about a lighthouse keeper.' }],
      max_tokens: 1500,
    },
    { signal: abort.signal },
  );
  setTimeout(() => abort.abort(), 500);
  await assert.rejects(long, OpenAI.APIUserAbortError);
  let abandoned = before;
  for (let i = 0; i < 100 && abandoned === before; i++) {
    await new Promise((r) => setTimeout(r, 200));
    abandoned = (await health()).abandoned;
  }
  assert.equal(abandoned, before + 1, 'the server did not stop the abandoned generation');
  const next = await client.chat.completions.create({
    model: 'smollm2-135m-instruct',
    messages: [{ role: 'user', content: 'Say hello.' }],
    max_tokens: 3,
  });
  // answered: a short reply may end on its own before the 3-token cap
  assert.ok(['length', 'stop'].includes(next.choices[0]!.finish_reason), next.choices[0]!.finish_reason);
  assert.ok(
    next.usage!.completion_tokens >= 1 && next.usage!.completion_tokens <= 3,
    JSON.stringify(next.usage),
  );
});

test('what it cannot do faithfully is a 400 naming the field', async () => {
  const base = { model: 'smollm2-135m-instruct', messages: [{ role: 'user' as const, content: 'hi' }] };
  await assert.rejects(
    client.chat.completions.create({ ...base, stream: true }).then(async (s) => {
      for await (const _ of s) break;
    }),
    (err: unknown) =>
      err instanceof OpenAI.BadRequestError && /stream: streaming is not supported/.test(err.message),
  );
  await assert.rejects(
    client.chat.completions.create({
      ...base,
      response_format: {
        type: 'json_schema',
        json_schema: {
          name: 'x',
          schema: { type: 'object', properties: { a: { allOf: [{ type: 'string' }] } } },
        },
      },
    }),
    (err: unknown) =>
      err instanceof OpenAI.BadRequestError &&
      /schema\.properties\.a\.allOf: keyword "allOf" is not supported/.test(err.message),
  );
  await assert.rejects(
    client.chat.completions.create({
      ...base,
      messages: [...base.messages, { role: 'assistant', content: 'hello' }],
    }),
    (err: unknown) =>
      err instanceof OpenAI.BadRequestError &&
      /messages\[1\]\.role: the last message must be from the user/.test(err.message),
  );
  await assert.rejects(
    client.chat.completions.create({ ...base, messages: [{ role: 'user', content: 'word '.repeat(3000) }] }),
    (err: unknown) => err instanceof OpenAI.BadRequestError && err.code === 'context_length_exceeded',
  );
});
