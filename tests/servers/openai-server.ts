// A local server speaking OpenAI's wire protocol: chat completions, files and batches. The `openai` SDK
// talks to it over HTTP (baseURL `${url}/v1`); behaviour is scripted through ServerOptions.
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
  type FaultKind,
  type ServedRequest,
  type ServerOptions,
  type StartedServer,
} from './scripted';

type ChatBody = {
  model?: string;
  messages?: { role: string; content: string | { type: string; text?: string }[] | null }[];
  response_format?: { type: string; json_schema?: { name?: string; schema?: unknown } };
  max_tokens?: number;
  max_completion_tokens?: number;
  temperature?: number;
};

function contentText(c: string | { type: string; text?: string }[] | null): string {
  if (typeof c === 'string') return c;
  if (Array.isArray(c)) return c.map((p) => p.text ?? '').join('');
  return '';
}

function parseChat(body: ChatBody, index: number, batch: boolean): ServedRequest {
  if (typeof body.model !== 'string' || !Array.isArray(body.messages) || body.messages.length === 0)
    throw new Error("'messages' must be a non-empty array");
  const system = body.messages
    .filter((m) => m.role === 'system' || m.role === 'developer')
    .map((m) => contentText(m.content))
    .join('\n');
  return {
    provider: 'openai',
    model: body.model,
    system,
    messages: body.messages
      .filter((m) => m.role !== 'system' && m.role !== 'developer')
      .map((m) => ({ role: m.role, content: contentText(m.content) })),
    schema:
      body.response_format?.type === 'json_schema' ? body.response_format.json_schema?.schema : undefined,
    maxTokens: body.max_completion_tokens ?? body.max_tokens,
    temperature: body.temperature,
    batch,
    index,
  };
}

function completionBody(req: ServedRequest, reply: Awaited<ReturnType<ScriptedModel['answer']>>) {
  const refusal = reply.finish === 'refusal';
  return {
    id: newId('chatcmpl-'),
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: req.model,
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: refusal ? null : reply.text,
          refusal: refusal ? reply.text : null,
        },
        finish_reason: reply.finish === 'length' ? 'length' : 'stop',
        logprobs: null,
      },
    ],
    usage: {
      prompt_tokens: reply.inputTokens,
      completion_tokens: reply.outputTokens,
      total_tokens: reply.inputTokens + reply.outputTokens,
      prompt_tokens_details: { cached_tokens: reply.cachedTokens },
    },
  };
}

const error = (message: string, type: string, code: string | null = null) => ({
  error: { message, type, param: null, code },
});

interface Batch {
  id: string;
  inputFileId: string;
  createdAt: number;
  readyAt: number;
  status: 'in_progress' | 'completed' | 'failed' | 'cancelled';
  metadata: Record<string, string> | null;
  outputFileId: string | null;
  errorFileId: string | null;
  counts: { total: number; completed: number; failed: number };
}

export async function startOpenAiServer(opts: ServerOptions = {}): Promise<StartedServer> {
  const model = new ScriptedModel(opts);
  const files = new Map<string, string>();
  const batches = new Map<string, Batch>();

  async function chat(
    res: ServerResponse,
    body: ChatBody,
    headers: IncomingMessage['headers'],
  ): Promise<void> {
    const req: ServedRequest = { ...parseChat(body, model.nextIndex(), false), headers };
    const { fault, retryAfterS } = model.admit(req);
    if (fault === '429') {
      const s = Math.max(retryAfterS ?? 1, 0.001);
      sendJson(res, 429, error('Rate limit reached for requests', 'requests', 'rate_limit_exceeded'), {
        'retry-after': String(Math.ceil(s)),
        'retry-after-ms': String(Math.ceil(s * 1000)),
        ...model.limitHeaders(),
      });
      return;
    }
    await sleep(model.latency());
    if (fault === 'timeout') {
      await model.hold(res);
      sendJson(res, 504, error('upstream timeout', 'server_error'));
      return;
    }
    if (fault === '5xx') {
      model.stats.got5xx++;
      sendJson(res, 500, error('The server had an error while processing your request.', 'server_error'));
      return;
    }
    const reply = await model.answer(req, fault, true);
    res.once('finish', () => (req.delivered = true));
    sendReply(res, fault, model.stats, completionBody(req, reply), model.limitHeaders());
  }

  async function runBatch(batch: Batch): Promise<void> {
    const lines = (files.get(batch.inputFileId) ?? '').split('\n').filter((l) => l.trim());
    const out: string[] = [];
    const errs: string[] = [];
    for (const line of lines) {
      const item = JSON.parse(line) as { custom_id: string; body: ChatBody };
      const req = parseChat(item.body, model.nextIndex(), true);
      const fault: FaultKind = model.admitBatchItem(req);
      if (fault === '429' || fault === '5xx' || fault === 'timeout') {
        errs.push(
          JSON.stringify({
            id: newId('batch_req_'),
            custom_id: item.custom_id,
            response: {
              status_code: 500,
              request_id: newId('req_'),
              body: error('item failed', 'server_error'),
            },
            error: null,
          }),
        );
        batch.counts.failed++;
        continue;
      }
      const reply = await model.answer(req, fault, true);
      out.push(
        JSON.stringify({
          id: newId('batch_req_'),
          custom_id: item.custom_id,
          response: { status_code: 200, request_id: newId('req_'), body: completionBody(req, reply) },
          error: null,
        }),
      );
      batch.counts.completed++;
    }
    batch.outputFileId = newId('file-');
    files.set(batch.outputFileId, out.map((l) => l + '\n').join(''));
    if (errs.length) {
      batch.errorFileId = newId('file-');
      files.set(batch.errorFileId, errs.map((l) => l + '\n').join(''));
    }
    batch.status = 'completed';
  }

  function batchBody(b: Batch) {
    return {
      id: b.id,
      object: 'batch',
      endpoint: '/v1/chat/completions',
      errors: null,
      input_file_id: b.inputFileId,
      completion_window: '24h',
      status: b.status,
      output_file_id: b.outputFileId,
      error_file_id: b.errorFileId,
      created_at: b.createdAt,
      request_counts: b.counts,
      metadata: b.metadata,
    };
  }

  async function handle(req: IncomingMessage, res: ServerResponse, url: URL, base: string): Promise<void> {
    const auth = req.headers.authorization?.replace(/^Bearer /, '');
    if (!model.authorized(auth)) {
      // Echoes the key, as some servers and proxies do: the client must scrub it from its errors.
      sendJson(
        res,
        401,
        error(`Incorrect API key provided: ${auth ?? ''}.`, 'invalid_request_error', 'invalid_api_key'),
      );
      return;
    }
    const p = url.pathname;
    if (
      req.method === 'POST' &&
      (p === '/v1/chat/completions' || p === '/v1/batches') &&
      model.quotaRefused()
    ) {
      await readBody(req);
      return sendJson(
        res,
        429,
        error(
          'You exceeded your current quota, please check your plan and billing details.',
          'insufficient_quota',
          'insufficient_quota',
        ),
      );
    }
    if (req.method === 'POST' && p === '/v1/chat/completions') {
      let body: ChatBody;
      try {
        body = (await readJson(req)) as ChatBody;
        parseChat(body, -1, false);
      } catch (err) {
        sendJson(res, 400, error(`bad request: ${(err as Error).message}`, 'invalid_request_error'));
        return;
      }
      return chat(res, body, req.headers);
    }
    if (req.method === 'POST' && p === '/v1/files') {
      const form = await new Request(base + p, {
        method: 'POST',
        headers: req.headers as Record<string, string>,
        body: new Uint8Array(await readBody(req)),
      }).formData();
      const file = form.get('file');
      if (!(file instanceof Blob))
        return sendJson(res, 400, error('file is required', 'invalid_request_error'));
      const id = newId('file-');
      const text = await file.text();
      files.set(id, text);
      return sendJson(res, 200, {
        id,
        object: 'file',
        bytes: Buffer.byteLength(text),
        created_at: Math.floor(Date.now() / 1000),
        filename: 'batch.jsonl',
        purpose: form.get('purpose'),
        status: 'processed',
      });
    }
    const content = /^\/v1\/files\/([^/]+)\/content$/.exec(p);
    if (req.method === 'GET' && content) {
      const text = files.get(content[1]!);
      if (text === undefined) return sendJson(res, 404, error('No such file', 'invalid_request_error'));
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.end(text);
      return;
    }
    if (req.method === 'POST' && p === '/v1/batches') {
      const body = (await readJson(req)) as {
        input_file_id?: string;
        endpoint?: string;
        metadata?: Record<string, string>;
      };
      if (!body.input_file_id || !files.has(body.input_file_id))
        return sendJson(res, 400, error('input_file_id not found', 'invalid_request_error'));
      const b: Batch = {
        id: newId('batch_'),
        inputFileId: body.input_file_id,
        createdAt: Math.floor(Date.now() / 1000),
        readyAt: Date.now() + (opts.batchDelayMs ?? 50),
        status: 'in_progress',
        metadata: body.metadata ?? null,
        outputFileId: null,
        errorFileId: null,
        counts: {
          total: files
            .get(body.input_file_id)!
            .split('\n')
            .filter((l) => l.trim()).length,
          completed: 0,
          failed: 0,
        },
      };
      batches.set(b.id, b);
      model.stats.batchesCreated++;
      await opts.onBatchCreated?.(b.id);
      return sendJson(res, 200, batchBody(b));
    }
    if (req.method === 'GET' && p === '/v1/batches') {
      // newest first, as the API lists them
      const limit = Number(url.searchParams.get('limit') ?? 20);
      const data = [...batches.values()].reverse().slice(0, limit).map(batchBody);
      return sendJson(res, 200, {
        object: 'list',
        data,
        first_id: data[0]?.id ?? null,
        last_id: data.at(-1)?.id ?? null,
        has_more: false,
      });
    }
    const cancel = /^\/v1\/batches\/([^/]+)\/cancel$/.exec(p);
    if (req.method === 'POST' && cancel) {
      await readBody(req);
      const b = batches.get(cancel[1]!);
      if (!b) return sendJson(res, 404, error('No such batch', 'invalid_request_error'));
      if (b.status === 'in_progress') {
        // the items not yet run are never run nor billed
        b.status = 'cancelled';
        model.stats.batchesCancelled++;
      }
      return sendJson(res, 200, batchBody(b));
    }
    const getBatch = /^\/v1\/batches\/([^/]+)$/.exec(p);
    if (req.method === 'GET' && getBatch) {
      const b = batches.get(getBatch[1]!);
      if (!b) return sendJson(res, 404, error('No such batch', 'invalid_request_error'));
      if (b.status === 'in_progress' && Date.now() >= b.readyAt) await runBatch(b);
      return sendJson(res, 200, batchBody(b));
    }
    sendJson(res, 404, error(`no route ${req.method} ${p}`, 'invalid_request_error'));
  }

  return listen(handle, model.stats);
}
