// A local server speaking Anthropic's wire protocol: messages (with tool use for structured output and
// cache_control prompt caching) and message batches. The `@anthropic-ai/sdk` talks to it at baseURL `url`.
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

type Block = { type: string; text?: string; cache_control?: unknown };
type MessagesBody = {
  model?: string;
  max_tokens?: number;
  system?: string | Block[];
  messages?: { role: string; content: string | Block[] }[];
  tools?: { name: string; input_schema: unknown }[];
  tool_choice?: { type: string; name?: string };
  temperature?: number;
};

const text = (c: string | Block[] | undefined) =>
  typeof c === 'string' ? c : (c ?? []).map((b) => b.text ?? '').join('');
const wantsCache = (b: MessagesBody) => Array.isArray(b.system) && b.system.some((x) => x.cache_control);

function parse(body: MessagesBody, index: number, batch: boolean): ServedRequest {
  if (typeof body.model !== 'string' || !Array.isArray(body.messages))
    throw new Error('model and messages are required');
  if (typeof body.max_tokens !== 'number') throw new Error('max_tokens: Field required');
  const tool =
    body.tool_choice?.type === 'tool'
      ? body.tools?.find((t) => t.name === body.tool_choice?.name)
      : undefined;
  return {
    provider: 'anthropic',
    model: body.model,
    system: text(body.system),
    messages: body.messages.map((m) => ({ role: m.role, content: text(m.content) })),
    schema: tool?.input_schema,
    maxTokens: body.max_tokens,
    temperature: body.temperature,
    batch,
    index,
  };
}

function messageBody(body: MessagesBody, req: ServedRequest, reply: Reply) {
  const toolName = body.tool_choice?.type === 'tool' ? body.tool_choice.name : undefined;
  let content: unknown[];
  if (toolName && reply.finish !== 'refusal') {
    // A tool call's input is always an object on the wire; a malformed or cut reply arrives as the raw text.
    let input: unknown;
    try {
      input = JSON.parse(reply.text);
    } catch {
      input = { _unparsed: reply.text };
    }
    content = [{ type: 'tool_use', id: newId('toolu_'), name: toolName, input }];
  } else {
    content = [{ type: 'text', text: reply.text }];
  }
  const stop =
    reply.finish === 'length'
      ? 'max_tokens'
      : reply.finish === 'refusal'
        ? 'refusal'
        : toolName
          ? 'tool_use'
          : 'end_turn';
  return {
    id: newId('msg_'),
    type: 'message',
    role: 'assistant',
    model: req.model,
    content,
    stop_reason: stop,
    stop_sequence: null,
    usage: {
      // Anthropic reports uncached input apart from cache reads and writes.
      input_tokens: reply.inputTokens - reply.cachedTokens - reply.cacheWriteTokens,
      output_tokens: reply.outputTokens,
      cache_read_input_tokens: reply.cachedTokens,
      cache_creation_input_tokens: reply.cacheWriteTokens,
    },
  };
}

const error = (type: string, message: string) => ({ type: 'error', error: { type, message } });

interface Batch {
  id: string;
  createdAt: string;
  readyAt: number;
  status: 'in_progress' | 'canceling' | 'ended';
  cancelledAt: string | null;
  requests: { custom_id: string; params: MessagesBody }[];
  results: string[];
  counts: { processing: number; succeeded: number; errored: number; canceled: number; expired: number };
}

export async function startAnthropicServer(opts: ServerOptions = {}): Promise<StartedServer> {
  const model = new ScriptedModel({ cacheMinTokens: 1024, ...opts });
  const batches = new Map<string, Batch>();

  async function messages(res: ServerResponse, body: MessagesBody): Promise<void> {
    const req = parse(body, model.nextIndex(), false);
    const { fault, retryAfterS } = model.admit(req);
    if (fault === '429') {
      sendJson(res, 429, error('rate_limit_error', 'Number of requests has exceeded your rate limit'), {
        'retry-after': String(Math.max(1, Math.ceil(retryAfterS ?? 1))),
        'anthropic-ratelimit-requests-remaining': '0',
      });
      return;
    }
    await sleep(model.latency());
    if (fault === 'timeout') {
      await model.hold(res);
      sendJson(res, 504, error('timeout_error', 'upstream timeout'));
      return;
    }
    if (fault === '5xx') {
      model.stats.got5xx++;
      sendJson(res, 529, error('overloaded_error', 'Overloaded'));
      return;
    }
    const reply = await model.answer(req, fault, wantsCache(body));
    sendReply(res, fault, model.stats, messageBody(body, req, reply));
  }

  async function runBatch(b: Batch): Promise<void> {
    for (const item of b.requests) {
      const req = parse(item.params, model.nextIndex(), true);
      const fault = model.admitBatchItem(req);
      if (fault === '429' || fault === '5xx' || fault === 'timeout') {
        b.results.push(
          JSON.stringify({
            custom_id: item.custom_id,
            result: { type: 'errored', error: error('api_error', 'item failed') },
          }),
        );
        b.counts.errored++;
      } else {
        const reply = await model.answer(req, fault, wantsCache(item.params));
        b.results.push(
          JSON.stringify({
            custom_id: item.custom_id,
            result: { type: 'succeeded', message: messageBody(item.params, req, reply) },
          }),
        );
        b.counts.succeeded++;
      }
      b.counts.processing--;
    }
    b.status = 'ended';
  }

  function batchBody(b: Batch, base: string) {
    return {
      id: b.id,
      type: 'message_batch',
      processing_status: b.status,
      request_counts: b.counts,
      created_at: b.createdAt,
      expires_at: b.createdAt,
      ended_at: b.status === 'ended' ? new Date().toISOString() : null,
      cancel_initiated_at: b.cancelledAt,
      archived_at: null,
      results_url: b.status === 'ended' ? `${base}/v1/messages/batches/${b.id}/results` : null,
    };
  }

  async function handle(req: IncomingMessage, res: ServerResponse, url: URL, base: string): Promise<void> {
    // SDK 1.x sends the key as a bearer token; older clients use x-api-key.
    const key =
      (req.headers['x-api-key'] as string | undefined) ?? req.headers.authorization?.replace(/^Bearer /, '');
    if (!model.authorized(key)) {
      sendJson(res, 401, error('authentication_error', `invalid x-api-key ${key ?? ''}`));
      return;
    }
    const p = url.pathname;
    if (req.method === 'POST' && p.startsWith('/v1/messages') && model.quotaRefused()) {
      await readBody(req);
      return sendJson(
        res,
        400,
        error(
          'invalid_request_error',
          'Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits.',
        ),
      );
    }
    if (req.method === 'POST' && p === '/v1/messages') {
      let body: MessagesBody;
      try {
        body = (await readJson(req)) as MessagesBody;
        parse(body, -1, false);
      } catch (err) {
        sendJson(res, 400, error('invalid_request_error', (err as Error).message));
        return;
      }
      return messages(res, body);
    }
    if (req.method === 'POST' && p === '/v1/messages/batches') {
      const body = (await readJson(req)) as { requests?: Batch['requests'] };
      if (!Array.isArray(body.requests) || body.requests.length === 0)
        return sendJson(
          res,
          400,
          error('invalid_request_error', 'requests: at least one request is required'),
        );
      const b: Batch = {
        id: newId('msgbatch_'),
        createdAt: new Date().toISOString(),
        readyAt: Date.now() + (opts.batchDelayMs ?? 50),
        status: 'in_progress',
        cancelledAt: null,
        requests: body.requests,
        results: [],
        counts: { processing: body.requests.length, succeeded: 0, errored: 0, canceled: 0, expired: 0 },
      };
      batches.set(b.id, b);
      model.stats.batchesCreated++;
      return sendJson(res, 200, batchBody(b, base));
    }
    if (req.method === 'GET' && p === '/v1/messages/batches') {
      const limit = Number(url.searchParams.get('limit') ?? 20);
      const data = [...batches.values()]
        .reverse()
        .slice(0, limit)
        .map((b) => batchBody(b, base));
      return sendJson(res, 200, {
        data,
        has_more: false,
        first_id: data[0]?.id ?? null,
        last_id: data.at(-1)?.id ?? null,
      });
    }
    const cancel = /^\/v1\/messages\/batches\/([^/]+)\/cancel$/.exec(p);
    if (req.method === 'POST' && cancel) {
      await readBody(req);
      const b = batches.get(cancel[1]!);
      if (!b) return sendJson(res, 404, error('not_found_error', 'batch not found'));
      if (b.status === 'in_progress') {
        // what has not run is canceled, never billed; the batch ends with canceled results
        b.cancelledAt = new Date().toISOString();
        for (const item of b.requests)
          b.results.push(JSON.stringify({ custom_id: item.custom_id, result: { type: 'canceled' } }));
        b.counts = { ...b.counts, processing: 0, canceled: b.requests.length };
        b.status = 'ended';
        model.stats.batchesCancelled++;
      }
      return sendJson(res, 200, batchBody(b, base));
    }
    const m = /^\/v1\/messages\/batches\/([^/]+)(\/results)?$/.exec(p);
    if (req.method === 'GET' && m) {
      const b = batches.get(m[1]!);
      if (!b) return sendJson(res, 404, error('not_found_error', 'batch not found'));
      if (b.status === 'in_progress' && Date.now() >= b.readyAt) await runBatch(b);
      if (!m[2]) return sendJson(res, 200, batchBody(b, base));
      if (b.status !== 'ended')
        return sendJson(res, 409, error('invalid_request_error', 'batch still processing'));
      res.writeHead(200, { 'content-type': 'application/binary' });
      res.end(b.results.map((l) => l + '\n').join(''));
      return;
    }
    sendJson(res, 404, error('not_found_error', `no route ${req.method} ${p}`));
  }

  return listen(handle, model.stats);
}
