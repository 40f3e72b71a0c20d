// A local server speaking the Gemini API's wire protocol (v1beta): generateContent (responseSchema /
// responseJsonSchema structured output, implicit prefix caching) and batch mode with inlined requests.
// The `@google/genai` SDK talks to it with httpOptions.baseUrl = url.
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  listen,
  newId,
  readBody,
  readJson,
  ScriptedModel,
  sendJson,
  sendReply,
  sleep,
  type Reply,
  type ServedRequest,
  type ServerOptions,
  type StartedServer,
} from './scripted';

type Content = { role?: string; parts?: { text?: string }[] };
type GenerateBody = {
  contents?: Content[];
  systemInstruction?: Content;
  generationConfig?: {
    temperature?: number;
    maxOutputTokens?: number;
    responseMimeType?: string;
    responseSchema?: unknown;
    responseJsonSchema?: unknown;
  };
};

const text = (c: Content | undefined) => (c?.parts ?? []).map((p) => p.text ?? '').join('');

function parse(model: string, body: GenerateBody, index: number, batch: boolean): ServedRequest {
  if (!Array.isArray(body.contents) || body.contents.length === 0) throw new Error('contents is required');
  const g = body.generationConfig ?? {};
  return {
    provider: 'google',
    model,
    system: text(body.systemInstruction),
    messages: body.contents.map((c) => ({
      role: c.role === 'model' ? 'assistant' : 'user',
      content: text(c),
    })),
    schema: g.responseJsonSchema ?? g.responseSchema,
    maxTokens: g.maxOutputTokens,
    temperature: g.temperature,
    batch,
    index,
  };
}

function responseBody(req: ServedRequest, reply: Reply) {
  const finishReason =
    reply.finish === 'length' ? 'MAX_TOKENS' : reply.finish === 'refusal' ? 'SAFETY' : 'STOP';
  return {
    candidates: [
      {
        content: { role: 'model', parts: reply.finish === 'refusal' ? [] : [{ text: reply.text }] },
        finishReason,
        index: 0,
      },
    ],
    usageMetadata: {
      promptTokenCount: reply.inputTokens,
      candidatesTokenCount: reply.outputTokens,
      totalTokenCount: reply.inputTokens + reply.outputTokens,
      cachedContentTokenCount: reply.cachedTokens,
    },
    modelVersion: req.model,
    responseId: newId('resp'),
  };
}

const error = (code: number, status: string, message: string, details: unknown[] = []) => ({
  error: { code, message, status, details },
});

interface Batch {
  name: string;
  model: string;
  displayName: string;
  createTime: string;
  readyAt: number;
  state: 'BATCH_STATE_PENDING' | 'BATCH_STATE_SUCCEEDED' | 'BATCH_STATE_CANCELLED';
  requests: { request: GenerateBody; metadata?: Record<string, unknown> }[];
  responses: unknown[];
}

export async function startGeminiServer(opts: ServerOptions = {}): Promise<StartedServer> {
  const model = new ScriptedModel({ cacheMinTokens: 1024, ...opts });
  const batches = new Map<string, Batch>();

  async function generate(res: ServerResponse, modelName: string, body: GenerateBody): Promise<void> {
    const req = parse(modelName, body, model.nextIndex(), false);
    const { fault, retryAfterS } = model.admit(req);
    if (fault === '429') {
      const s = Math.max(0.001, retryAfterS ?? 1);
      sendJson(
        res,
        429,
        error(429, 'RESOURCE_EXHAUSTED', 'Resource has been exhausted (e.g. check quota).', [
          { '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: `${s.toFixed(3)}s` },
        ]),
      );
      return;
    }
    await sleep(model.latency());
    if (fault === 'timeout') {
      await model.hold(res);
      sendJson(res, 504, error(504, 'DEADLINE_EXCEEDED', 'Deadline exceeded'));
      return;
    }
    if (fault === '5xx') {
      model.stats.got5xx++;
      sendJson(res, 503, error(503, 'UNAVAILABLE', 'The model is overloaded. Please try again later.'));
      return;
    }
    const reply = await model.answer(req, fault, true);
    sendReply(res, fault, model.stats, responseBody(req, reply));
  }

  async function runBatch(b: Batch): Promise<void> {
    for (const item of b.requests) {
      const req = parse(b.model, item.request, model.nextIndex(), true);
      const fault = model.admitBatchItem(req);
      if (fault === '429' || fault === '5xx' || fault === 'timeout') {
        b.responses.push({ error: { code: 500, message: 'item failed' }, metadata: item.metadata });
      } else {
        const reply = await model.answer(req, fault, true);
        b.responses.push({ response: responseBody(req, reply), metadata: item.metadata });
      }
    }
    b.state = 'BATCH_STATE_SUCCEEDED';
  }

  function operation(b: Batch) {
    const done = b.state !== 'BATCH_STATE_PENDING';
    return {
      name: b.name,
      metadata: {
        '@type': 'type.googleapis.com/google.ai.generativelanguage.v1main.GenerateContentBatch',
        name: b.name,
        displayName: b.displayName,
        model: `models/${b.model}`,
        state: b.state,
        createTime: b.createTime,
        updateTime: new Date().toISOString(),
        ...(b.state === 'BATCH_STATE_SUCCEEDED'
          ? { output: { inlinedResponses: { inlinedResponses: b.responses } } }
          : {}),
      },
      done,
    };
  }

  async function handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const key =
      (req.headers['x-goog-api-key'] as string | undefined) ?? url.searchParams.get('key') ?? undefined;
    if (!model.authorized(key)) {
      sendJson(
        res,
        400,
        error(400, 'INVALID_ARGUMENT', `API key not valid (${key ?? ''}). Please pass a valid API key.`),
      );
      return;
    }
    if (req.method === 'POST' && !url.pathname.endsWith(':cancel') && model.quotaRefused()) {
      await readBody(req);
      return sendJson(
        res,
        429,
        error(
          429,
          'RESOURCE_EXHAUSTED',
          'You exceeded your current quota, please check your plan and billing details. Quota exceeded for metric: generativelanguage.googleapis.com/generate_content_paid_tier_input_token_count, limit: 0',
        ),
      );
    }
    const p = url.pathname;
    const gen = /^\/v1(?:beta)?\/models\/([^/:]+):(generateContent|batchGenerateContent)$/.exec(p);
    if (req.method === 'POST' && gen) {
      const modelName = decodeURIComponent(gen[1]!);
      if (gen[2] === 'generateContent') {
        let body: GenerateBody;
        try {
          body = (await readJson(req)) as GenerateBody;
          parse(modelName, body, -1, false);
        } catch (err) {
          sendJson(res, 400, error(400, 'INVALID_ARGUMENT', (err as Error).message));
          return;
        }
        return generate(res, modelName, body);
      }
      const body = (await readJson(req)) as {
        batch?: { displayName?: string; inputConfig?: { requests?: { requests?: Batch['requests'] } } };
      };
      const requests = body.batch?.inputConfig?.requests?.requests;
      if (!Array.isArray(requests) || requests.length === 0)
        return sendJson(
          res,
          400,
          error(400, 'INVALID_ARGUMENT', 'batch.inputConfig.requests.requests is required'),
        );
      const b: Batch = {
        name: `batches/${newId('b')}`,
        model: modelName,
        displayName: body.batch?.displayName ?? '',
        createTime: new Date().toISOString(),
        readyAt: Date.now() + (opts.batchDelayMs ?? 50),
        state: 'BATCH_STATE_PENDING',
        requests,
        responses: [],
      };
      batches.set(b.name, b);
      model.stats.batchesCreated++;
      return sendJson(res, 200, operation(b));
    }
    if (req.method === 'GET' && /^\/v1(?:beta)?\/batches$/.test(p)) {
      const size = Number(url.searchParams.get('pageSize') ?? 50);
      return sendJson(res, 200, {
        operations: [...batches.values()].reverse().slice(0, size).map(operation),
      });
    }
    const cancel = /^\/v1(?:beta)?\/(batches\/[^/:]+):cancel$/.exec(p);
    if (req.method === 'POST' && cancel) {
      await readBody(req);
      const b = batches.get(cancel[1]!);
      if (!b) return sendJson(res, 404, error(404, 'NOT_FOUND', 'batch not found'));
      if (b.state === 'BATCH_STATE_PENDING') {
        b.state = 'BATCH_STATE_CANCELLED';
        model.stats.batchesCancelled++;
      }
      return sendJson(res, 200, {});
    }
    const get = /^\/v1(?:beta)?\/(batches\/[^/:]+)$/.exec(p);
    if (req.method === 'GET' && get) {
      const b = batches.get(get[1]!);
      if (!b) return sendJson(res, 404, error(404, 'NOT_FOUND', 'batch not found'));
      if (b.state === 'BATCH_STATE_PENDING' && Date.now() >= b.readyAt) await runBatch(b);
      return sendJson(res, 200, operation(b));
    }
    sendJson(res, 404, error(404, 'NOT_FOUND', `no route ${req.method} ${p}`));
  }

  return listen(handle, model.stats);
}
