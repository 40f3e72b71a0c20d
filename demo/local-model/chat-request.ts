// The part of the OpenAI chat completions request body this server honours, validated with zod. Anything
// it cannot do faithfully (streaming, tools, n > 1) is refused with a 400 naming the field, never ignored.
import { z } from 'zod';
import type { ChatHistoryItem } from './node-llama-cpp';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly param: string | null = null,
    readonly code: string | null = null,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  toBody() {
    const type = this.status >= 500 ? 'server_error' : 'invalid_request_error';
    return { error: { message: this.message, type, param: this.param, code: this.code } };
  }
}

const textPart = z.object({ type: z.literal('text'), text: z.string() });
const content = z.union([z.string(), z.array(textPart)]);

const message = z.discriminatedUnion('role', [
  z.object({ role: z.enum(['system', 'developer']), content }),
  z.object({ role: z.literal('user'), content }),
  z.object({ role: z.literal('assistant'), content: content.nullish() }),
]);

const responseFormat = z.discriminatedUnion('type', [
  z.object({ type: z.literal('text') }),
  z.object({ type: z.literal('json_object') }),
  z.object({
    type: z.literal('json_schema'),
    json_schema: z.object({
      name: z.string().min(1),
      schema: z.record(z.string(), z.unknown()),
      strict: z.boolean().nullish(),
    }),
  }),
]);

export const chatRequestSchema = z.looseObject({
  model: z.string().min(1),
  messages: z.array(message).min(1),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().gt(0).max(1).nullish(),
  max_tokens: z.number().int().positive().nullish(),
  max_completion_tokens: z.number().int().positive().nullish(),
  seed: z.number().int().nullish(),
  stop: z.union([z.string(), z.array(z.string()).max(4)]).nullish(),
  n: z.literal(1).nullish(),
  stream: z.literal(false).nullish(),
  response_format: responseFormat.nullish(),
  tools: z.array(z.unknown()).max(0).nullish(),
});

export type ChatRequest = z.infer<typeof chatRequestSchema>;

const UNSUPPORTED_HINTS: Record<string, string> = {
  n: 'this local server generates one choice per request (n must be 1)',
  stream: 'streaming is not supported by this local server (stream must be false)',
  tools: 'tool calling is not supported by this local server',
};

export function parseChatRequest(body: unknown): ChatRequest {
  const parsed = chatRequestSchema.safeParse(body);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const param = issue.path
    .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
    .join('')
    .replace(/^\./, '');
  const hint = UNSUPPORTED_HINTS[String(issue.path[0])];
  throw new ApiError(
    400,
    `${param || 'body'}: ${hint ?? issue.message}`,
    param || null,
    hint ? 'unsupported_parameter' : null,
  );
}

function text(c: z.infer<typeof content> | null | undefined): string {
  if (c == null) return '';
  return typeof c === 'string' ? c : c.map((p) => p.text).join('');
}

/** OpenAI messages → node-llama-cpp chat history, ending with the empty model turn to be generated. */
export function toChatHistory(messages: ChatRequest['messages']): ChatHistoryItem[] {
  const last = messages[messages.length - 1]!;
  if (last.role !== 'user') {
    throw new ApiError(
      400,
      `messages[${messages.length - 1}].role: the last message must be from the user, got "${last.role}"`,
      'messages',
    );
  }
  const history: ChatHistoryItem[] = messages.map((m) => {
    switch (m.role) {
      case 'system':
      case 'developer':
        return { type: 'system', text: text(m.content) };
      case 'user':
        return { type: 'user', text: text(m.content) };
      case 'assistant':
        return { type: 'model', response: [text(m.content)] };
    }
  });
  history.push({ type: 'model', response: [] });
  return history;
}
