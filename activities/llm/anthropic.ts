// Anthropic through the official `@anthropic-ai/sdk`: structured output by forcing one tool whose input
// schema is the wanted JSON Schema, prompt caching of the system prompt (cache_control), Message Batches.
import Anthropic from '@anthropic-ai/sdk';
import type { Message, MessageCreateParamsNonStreaming } from '@anthropic-ai/sdk/resources/messages';
import type { LlmRequest } from './client';

import {
  FIND_BATCH_WINDOW,
  maxTokensOf,
  temperatureOf,
  turns,
  type BatchItemResult,
  type BatchStatus,
  type Completion,
  type ProviderAdapter,
  type StructuredSpec,
} from './provider';

/** `k<key>_` in front of a custom_id tags the submission (custom_ids allow [a-zA-Z0-9_-], up to 64). */
const keyPrefix = (key: string) => `k${key}_`;
const KEY_PREFIX = /^k[a-z0-9]{1,24}_/;

export interface AnthropicAdapterOptions {
  apiKey: string;
  baseURL?: string;
  fetch?: typeof globalThis.fetch;
  defaultMaxTokens: number;
}

export function createAnthropicAdapter(opts: AnthropicAdapterOptions): ProviderAdapter {
  const client = new Anthropic({
    apiKey: opts.apiKey,
    baseURL: opts.baseURL,
    fetch: opts.fetch,
    maxRetries: 0,
    timeout: 24 * 3600_000,
  });

  function params(req: LlmRequest, structured: StructuredSpec | undefined): MessageCreateParamsNonStreaming {
    const p: MessageCreateParamsNonStreaming = {
      model: req.model.model,
      max_tokens: maxTokensOf(req, opts.defaultMaxTokens),
      messages: turns(req).map((t) => ({ role: t.role, content: t.content })),
    };
    // SDK 1.x types no longer list temperature (newer models fix it); the wire still accepts it for the
    // models that do, so it is sent only when a config or call asks for one.
    const temperature = temperatureOf(req);
    if (temperature !== undefined) (p as { temperature?: number }).temperature = Math.min(1, temperature);
    if (req.system) {
      p.system = req.cachePrefix
        ? [{ type: 'text', text: req.system, cache_control: { type: 'ephemeral' } }]
        : req.system;
    }
    if (structured) {
      p.tools = [
        {
          name: structured.name,
          description: 'Record the answer in this exact structure.',
          input_schema: structured.jsonSchema as Anthropic.Messages.Tool.InputSchema,
        },
      ];
      p.tool_choice = { type: 'tool', name: structured.name };
    }
    return p;
  }

  function toCompletion(m: Message): Completion {
    const tool = m.content.find((b) => b.type === 'tool_use');
    const text =
      tool && tool.type === 'tool_use'
        ? JSON.stringify(tool.input)
        : m.content.map((b) => (b.type === 'text' ? b.text : '')).join('');
    const cacheRead = m.usage.cache_read_input_tokens ?? 0;
    const cacheWrite = m.usage.cache_creation_input_tokens ?? 0;
    return {
      text,
      finish: m.stop_reason === 'max_tokens' ? 'length' : m.stop_reason === 'refusal' ? 'refusal' : 'stop',
      tokens: {
        inputTokens: m.usage.input_tokens + cacheRead + cacheWrite,
        outputTokens: m.usage.output_tokens,
        cachedTokens: cacheRead,
      },
    };
  }

  return {
    provider: 'anthropic',

    async complete(req, structured, call) {
      return toCompletion(await client.messages.create(params(req, structured), { signal: call.signal }));
    },

    async submitBatch(items, idempotency) {
      // Message Batches carry no metadata: the key goes in front of every custom_id (stripped from results)
      const prefix = idempotency ? keyPrefix(idempotency.key) : '';
      const batch = await client.messages.batches.create({
        requests: items.map((i) => ({ custom_id: prefix + i.id, params: params(i.req, i.structured) })),
      });
      return batch.id;
    },

    async findBatch(idempotency, itemCount) {
      // List and match: a recent batch of as many requests, created after the first attempt; one that ended
      // must show the key in its custom_ids (an unfinished one cannot be read yet, so `since` decides).
      const page = await client.messages.batches.list({ limit: FIND_BATCH_WINDOW });
      const prefix = keyPrefix(idempotency.key);
      for (const b of page.data) {
        const c = b.request_counts;
        const total = c.processing + c.succeeded + c.errored + c.canceled + c.expired;
        if (total !== itemCount) continue;
        if (b.processing_status === 'ended') {
          let ours = true;
          for await (const r of await client.messages.batches.results(b.id))
            if (!r.custom_id.startsWith(prefix)) ours = false;
          if (ours) return b.id;
        } else if (idempotency.since !== undefined && Date.parse(b.created_at) >= idempotency.since - 60_000)
          return b.id;
      }
      return null;
    },

    async cancelBatch(batchId) {
      const b = await client.messages.batches.retrieve(batchId);
      if (b.processing_status === 'in_progress') await client.messages.batches.cancel(batchId);
    },

    async batchStatus(batchId): Promise<BatchStatus> {
      const b = await client.messages.batches.retrieve(batchId);
      const c = b.request_counts;
      const total = c.processing + c.succeeded + c.errored + c.canceled + c.expired;
      return {
        state: b.processing_status === 'ended' ? 'ended' : 'running',
        done: total - c.processing,
        total,
      };
    },

    async batchResults(batchId) {
      const out = new Map<string, BatchItemResult>();
      for await (const r of await client.messages.batches.results(batchId)) {
        const id = r.custom_id.replace(KEY_PREFIX, '');
        if (r.result.type === 'succeeded') out.set(id, toCompletion(r.result.message));
        else if (r.result.type === 'errored') out.set(id, { error: r.result.error.error.message });
        else out.set(id, { error: r.result.type });
      }
      return out;
    },
  };
}
