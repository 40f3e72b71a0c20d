// Google Gemini through `@google/genai`, Google's maintained SDK (successor of the deprecated
// `@google/generative-ai`): generateContent with responseJsonSchema, and batch mode with inlined requests.
// Gemini caches shared prompt prefixes implicitly; the cached share comes back as cachedContentTokenCount.
import {
  GoogleGenAI,
  type Content,
  type GenerateContentConfig,
  type GenerateContentResponse,
} from '@google/genai';
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

export interface GoogleAdapterOptions {
  apiKey: string;
  baseURL?: string;
  fetch?: typeof globalThis.fetch;
  defaultMaxTokens: number;
}

export function createGoogleAdapter(opts: GoogleAdapterOptions): ProviderAdapter {
  // No retryOptions: the SDK then makes exactly one attempt; retries are ours.
  const ai = new GoogleGenAI({
    apiKey: opts.apiKey,
    // v1beta carries batch mode and responseJsonSchema.
    httpOptions: {
      apiVersion: 'v1beta',
      ...(opts.baseURL ? { baseUrl: opts.baseURL } : {}),
      ...(opts.fetch ? { fetch: opts.fetch } : {}),
    },
  });

  function contents(req: LlmRequest): Content[] {
    return turns(req).map((t) => ({
      role: t.role === 'assistant' ? 'model' : 'user',
      parts: [{ text: t.content }],
    }));
  }

  function config(req: LlmRequest, structured: StructuredSpec | undefined): GenerateContentConfig {
    const c: GenerateContentConfig = { maxOutputTokens: maxTokensOf(req, opts.defaultMaxTokens) };
    const temperature = temperatureOf(req);
    if (temperature !== undefined) c.temperature = temperature;
    if (req.system) c.systemInstruction = req.system;
    if (structured) {
      c.responseMimeType = 'application/json';
      c.responseJsonSchema = structured.jsonSchema;
    }
    return c;
  }

  function toCompletion(r: GenerateContentResponse): Completion {
    const cand = r.candidates?.[0];
    const reason = cand?.finishReason as string | undefined;
    const blocked =
      r.promptFeedback?.blockReason !== undefined ||
      ['SAFETY', 'PROHIBITED_CONTENT', 'BLOCKLIST', 'RECITATION'].includes(reason ?? '');
    const text = (cand?.content?.parts ?? []).map((p) => p.text ?? '').join('');
    return {
      text,
      finish: blocked ? 'refusal' : reason === 'MAX_TOKENS' ? 'length' : 'stop',
      tokens: {
        inputTokens: r.usageMetadata?.promptTokenCount ?? 0,
        outputTokens: r.usageMetadata?.candidatesTokenCount ?? 0,
        cachedTokens: r.usageMetadata?.cachedContentTokenCount ?? 0,
      },
    };
  }

  return {
    provider: 'google',

    async complete(req, structured, call) {
      const r = await ai.models.generateContent({
        model: req.model.model,
        contents: contents(req),
        config: { ...config(req, structured), abortSignal: call.signal },
      });
      return toCompletion(r);
    },

    async submitBatch(items, idempotency) {
      const model = items[0]?.req.model.model;
      if (!model) throw new Error('a batch needs at least one item');
      const job = await ai.batches.create({
        model,
        src: items.map((i) => ({
          contents: contents(i.req),
          config: config(i.req, i.structured),
          metadata: { key: i.id },
        })),
        config: {
          displayName: idempotency ? `llamaduo-${idempotency.key}` : `llamaduo-${items.length}`,
        },
      });
      if (!job.name) throw new Error('Gemini batch create returned no name');
      return job.name;
    },

    async findBatch(idempotency) {
      const pager = await ai.batches.list({ config: { pageSize: FIND_BATCH_WINDOW } });
      const found = pager.page.find(
        (j) =>
          j.displayName === `llamaduo-${idempotency.key}` &&
          (idempotency.since === undefined ||
            !j.createTime ||
            Date.parse(j.createTime) >= idempotency.since - 60_000),
      );
      return found?.name ?? null;
    },

    async cancelBatch(batchId) {
      const job = await ai.batches.get({ name: batchId });
      const s = job.state as string | undefined;
      if (s === 'JOB_STATE_PENDING' || s === 'JOB_STATE_RUNNING' || s === 'JOB_STATE_QUEUED')
        await ai.batches.cancel({ name: batchId });
    },

    async batchStatus(batchId): Promise<BatchStatus> {
      const job = await ai.batches.get({ name: batchId });
      const s = job.state as string | undefined;
      if (s === 'JOB_STATE_SUCCEEDED') return { state: 'ended' };
      if (s === 'JOB_STATE_FAILED' || s === 'JOB_STATE_CANCELLED' || s === 'JOB_STATE_EXPIRED')
        return { state: 'failed', detail: s };
      return { state: 'running' };
    },

    async batchResults(batchId) {
      const job = await ai.batches.get({ name: batchId });
      const out = new Map<string, BatchItemResult>();
      for (const r of job.dest?.inlinedResponses ?? []) {
        const key = r.metadata?.key;
        if (!key) continue;
        if (r.response) out.set(key, toCompletion(r.response));
        else out.set(key, { error: r.error?.message ?? 'no response' });
      }
      return out;
    },
  };
}
