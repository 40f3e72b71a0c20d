// OpenAI (and OpenAI-compatible servers: vLLM, Ollama, llama.cpp) through the official `openai` SDK:
// chat completions with response_format json_schema, and the Batch API (JSONL file -> batch -> output file).
import OpenAI, { toFile } from 'openai';
import type {
  ChatCompletion,
  ChatCompletionCreateParamsNonStreaming,
} from 'openai/resources/chat/completions';
import type { LlmRequest } from './client';
import {
  maxTokensOf,
  temperatureOf,
  turns,
  FIND_BATCH_WINDOW,
  type BatchItemRequest,
  type BatchItemResult,
  type BatchStatus,
  type CallOptions,
  type Completion,
  type ProviderAdapter,
  type StructuredSpec,
} from './provider';

export interface OpenAiAdapterOptions {
  apiKey: string;
  baseURL?: string;
  fetch?: typeof globalThis.fetch;
  /** true for self-hosted servers: max_tokens instead of max_completion_tokens, non-strict schemas */
  compatible?: boolean;
  defaultMaxTokens: number;
}

/** OpenAI's strict mode needs every object closed with all properties required. */
function strictCompatible(schema: unknown): boolean {
  if (!schema || typeof schema !== 'object') return true;
  const s = schema as Record<string, unknown>;
  if (s.type === 'object') {
    const props = Object.keys((s.properties ?? {}) as object);
    const req = new Set((s.required ?? []) as string[]);
    if (s.additionalProperties !== false || props.some((p) => !req.has(p))) return false;
  }
  return Object.values(s).every((v) =>
    Array.isArray(v) ? v.every(strictCompatible) : typeof v === 'object' ? strictCompatible(v) : true,
  );
}

export function createOpenAiAdapter(opts: OpenAiAdapterOptions): ProviderAdapter {
  const client = new OpenAI({
    apiKey: opts.apiKey,
    baseURL: opts.baseURL,
    fetch: opts.fetch,
    // Retries and timeouts are ours (service-client.ts), so every attempt passes the rate limiter.
    maxRetries: 0,
    timeout: 24 * 3600_000,
  });

  function body(
    req: LlmRequest,
    structured: StructuredSpec | undefined,
  ): ChatCompletionCreateParamsNonStreaming {
    const messages: ChatCompletionCreateParamsNonStreaming['messages'] = [];
    if (req.system) messages.push({ role: 'system', content: req.system });
    for (const t of turns(req)) messages.push({ role: t.role, content: t.content });
    const max = maxTokensOf(req, opts.defaultMaxTokens);
    return {
      model: req.model.model,
      messages,
      temperature: temperatureOf(req),
      ...(opts.compatible ? { max_tokens: max } : { max_completion_tokens: max }),
      ...(structured
        ? {
            response_format: {
              type: 'json_schema',
              json_schema: {
                name: structured.name,
                schema: structured.jsonSchema,
                strict: !opts.compatible && strictCompatible(structured.jsonSchema),
              },
            },
          }
        : {}),
    };
  }

  function toCompletion(c: ChatCompletion): Completion {
    const choice = c.choices[0];
    const refusal = choice?.message.refusal;
    return {
      text: refusal ?? choice?.message.content ?? '',
      finish: refusal ? 'refusal' : choice?.finish_reason === 'length' ? 'length' : 'stop',
      tokens: {
        inputTokens: c.usage?.prompt_tokens ?? 0,
        outputTokens: c.usage?.completion_tokens ?? 0,
        cachedTokens: c.usage?.prompt_tokens_details?.cached_tokens ?? 0,
      },
    };
  }

  return {
    provider: 'openai',

    async complete(req, structured, call: CallOptions) {
      const c = await client.chat.completions.create(body(req, structured), { signal: call.signal });
      return toCompletion(c);
    },

    async submitBatch(items: BatchItemRequest[], idempotency) {
      const jsonl = items
        .map((i) =>
          JSON.stringify({
            custom_id: i.id,
            method: 'POST',
            url: '/v1/chat/completions',
            body: body(i.req, i.structured),
          }),
        )
        .join('\n');
      const file = await client.files.create({
        file: await toFile(Buffer.from(jsonl + '\n'), 'batch.jsonl'),
        purpose: 'batch',
      });
      const batch = await client.batches.create({
        input_file_id: file.id,
        endpoint: '/v1/chat/completions',
        completion_window: '24h',
        ...(idempotency ? { metadata: { llamaduo_key: idempotency.key } } : {}),
      });
      return batch.id;
    },

    async findBatch(idempotency) {
      const page = await client.batches.list({ limit: FIND_BATCH_WINDOW });
      const found = page.data.find(
        (b) =>
          b.metadata?.llamaduo_key === idempotency.key &&
          (idempotency.since === undefined || b.created_at * 1000 >= idempotency.since - 60_000),
      );
      return found?.id ?? null;
    },

    async cancelBatch(batchId) {
      const b = await client.batches.retrieve(batchId);
      if (b.status === 'validating' || b.status === 'in_progress' || b.status === 'finalizing')
        await client.batches.cancel(batchId);
    },

    async batchStatus(batchId): Promise<BatchStatus> {
      const b = await client.batches.retrieve(batchId);
      const counts = b.request_counts;
      const base = { done: counts ? counts.completed + counts.failed : undefined, total: counts?.total };
      if (b.status === 'completed') return { state: 'ended', ...base };
      // An expired or cancelled batch still delivers what it finished; the rest is retried synchronously.
      if ((b.status === 'expired' || b.status === 'cancelled') && (b.output_file_id || b.error_file_id))
        return { state: 'ended', ...base };
      if (b.status === 'failed' || b.status === 'expired' || b.status === 'cancelled')
        return { state: 'failed', detail: `batch ${b.status}`, ...base };
      return { state: 'running', ...base };
    },

    async batchResults(batchId) {
      const b = await client.batches.retrieve(batchId);
      const out = new Map<string, BatchItemResult>();
      for (const fileId of [b.output_file_id, b.error_file_id]) {
        if (!fileId) continue;
        const text = await (await client.files.content(fileId)).text();
        for (const line of text.split('\n')) {
          if (!line.trim()) continue;
          const r = JSON.parse(line) as {
            custom_id: string;
            response?: { status_code: number; body: unknown } | null;
            error?: { message?: string } | null;
          };
          if (r.response?.status_code === 200)
            out.set(r.custom_id, toCompletion(r.response.body as ChatCompletion));
          else
            out.set(r.custom_id, {
              error: r.error?.message ?? `status ${r.response?.status_code ?? 'unknown'}`,
            });
        }
      }
      return out;
    },
  };
}
