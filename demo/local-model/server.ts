// A real local model behind the OpenAI chat completions wire protocol, on loopback only, so the project's
// OpenAI SDK path can use it as teacher and judge with no API key. node-llama-cpp has no HTTP server of
// its own, and the part of the protocol needed is small: POST /v1/chat/completions, GET /v1/models.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { ApiError, parseChatRequest, toChatHistory, type ChatRequest } from './chat-request';
import { LocalChatModel, type Generation } from './local-chat-model';
import { DEMO_MODEL_FILE, DEMO_MODEL_ID, resolveModelPath } from './model-files';

export interface LocalModelServerOptions {
  /** default 0: any free port */
  port?: number;
  /** default: the model installed by scripts/setup-demo-model.sh (or $LLAMADUO_DEMO_MODEL) */
  modelPath?: string;
  contextSize?: number;
  threads?: number;
  /** used when a request names neither max_tokens nor max_completion_tokens */
  defaultMaxTokens?: number;
}

export interface LocalModelServer {
  /** base URL for the OpenAI SDK, e.g. http://127.0.0.1:41234/v1 */
  url: string;
  modelId: string;
  close(): Promise<void>;
}

const HOST = '127.0.0.1';
const MAX_BODY_BYTES = 4 * 1024 * 1024;

export async function startLocalModelServer(opts: LocalModelServerOptions = {}): Promise<LocalModelServer> {
  const modelPath = resolveModelPath(opts.modelPath);
  const modelId =
    path.basename(modelPath) === DEMO_MODEL_FILE
      ? DEMO_MODEL_ID
      : path.basename(modelPath, '.gguf').toLowerCase();
  const model = await LocalChatModel.load({
    modelPath,
    contextSize: opts.contextSize,
    threads: opts.threads,
  });
  const defaultMaxTokens = opts.defaultMaxTokens ?? 512;
  const created = Math.floor(Date.now() / 1000);

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      const apiErr =
        err instanceof ApiError ? err : new ApiError(500, `internal error: ${(err as Error).message}`);
      if (!res.headersSent) sendJson(res, apiErr.status, apiErr.toBody());
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const route = new URL(req.url ?? '/', `http://${HOST}`).pathname.replace(/\/+$/, '');
    if (req.method === 'GET' && (route === '/v1/models' || route === '/models')) {
      return sendJson(res, 200, {
        object: 'list',
        data: [{ id: modelId, object: 'model', created, owned_by: 'local' }],
      });
    }
    if (req.method === 'GET' && route === '/health')
      return sendJson(res, 200, { status: 'ok', ...model.stats });
    if (route === '/v1/chat/completions' || route === '/chat/completions') {
      if (req.method !== 'POST') throw new ApiError(405, `${req.method} ${route}: use POST`);
      return chatCompletion(req, res);
    }
    throw new ApiError(
      404,
      `${req.method} ${route}: no such endpoint (this server offers POST /v1/chat/completions and GET /v1/models)`,
    );
  }

  async function chatCompletion(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = parseChatRequest(await readJson(req));
    // A caller that gives up (timeout, cancelled activity) stops the generation instead of queueing work.
    const abort = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) abort.abort(new Error('client closed the connection'));
    });
    const result = await model.generate(toGeneration(body, defaultMaxTokens, abort.signal));
    sendJson(res, 200, {
      id: `chatcmpl-${randomUUID()}`,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: body.model,
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: result.text, refusal: null },
          finish_reason: result.finishReason,
          logprobs: null,
        },
      ],
      usage: {
        prompt_tokens: result.promptTokens,
        completion_tokens: result.completionTokens,
        total_tokens: result.promptTokens + result.completionTokens,
      },
    });
  }

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port ?? 0, HOST, () => resolve());
    });
  } catch (err) {
    await model.close();
    throw err;
  }
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://${HOST}:${port}/v1`,
    modelId,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await model.close();
    },
  };
}

function toGeneration(body: ChatRequest, defaultMaxTokens: number, signal: AbortSignal): Generation {
  const format = body.response_format;
  return {
    history: toChatHistory(body.messages),
    maxTokens: body.max_completion_tokens ?? body.max_tokens ?? defaultMaxTokens,
    temperature: body.temperature ?? 1, // OpenAI's default
    topP: body.top_p ?? undefined,
    seed: body.seed ?? undefined,
    stop: body.stop == null ? undefined : typeof body.stop === 'string' ? [body.stop] : body.stop,
    format:
      format?.type === 'json_schema'
        ? { type: 'json_schema', schema: format.json_schema.schema }
        : format?.type === 'json_object'
          ? { type: 'json_object' }
          : undefined,
    signal,
  };
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const type = req.headers['content-type'] ?? '';
  if (!type.includes('application/json'))
    throw new ApiError(415, `content-type must be application/json, got "${type}"`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new ApiError(413, `request body over ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (err) {
    throw new ApiError(400, `body is not valid JSON: ${(err as Error).message}`);
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const data = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) });
  res.end(data);
}
