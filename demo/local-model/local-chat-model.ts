// One GGUF model in llama.cpp (CPU), answering one chat request at a time: on 2 cores parallel sequences
// only split the same compute, so requests queue here and each gets the whole machine.
import { availableCores } from '../../activities/cpu-cores';
import { ApiError } from './chat-request';
import { toGrammarSchema, UnsupportedSchemaError } from './json-schema-grammar';
import {
  importNodeLlamaCpp,
  type ChatHistoryItem,
  type ContextSequence,
  type Grammar,
  type Llama,
  type LlamaChat,
  type LlamaContext,
  type LlamaModel,
} from './node-llama-cpp';

export interface LocalChatModelOptions {
  modelPath: string;
  /** tokens of prompt + output per request; default 4096 */
  contextSize?: number;
  /** CPU threads; default: all cores but one (see defaultThreads) */
  threads?: number;
}

export interface Generation {
  history: ChatHistoryItem[];
  maxTokens: number;
  temperature: number;
  topP?: number;
  seed?: number;
  stop?: string[];
  format?: { type: 'json_object' } | { type: 'json_schema'; schema: Record<string, unknown> };
  signal?: AbortSignal;
}

export interface GenerationResult {
  text: string;
  finishReason: 'stop' | 'length';
  promptTokens: number;
  completionTokens: number;
}

/**
 * All cores but one. The demo runs the Temporal server, the worker and the trainer beside the model, and
 * llama.cpp's threads wait for each other at every step: on a busy 2-core machine 2 threads generated
 * 0.8 tokens/s where 1 thread generated 17 (docs/demo-model.md).
 */
export function defaultThreads(): number {
  return Math.max(1, availableCores() - 1);
}

export class LocalChatModel {
  private queue: Promise<unknown> = Promise.resolve();
  private readonly grammars = new Map<string, Promise<Grammar>>();

  private constructor(
    private readonly llama: Llama,
    private readonly model: LlamaModel,
    private readonly context: LlamaContext,
    private readonly sequence: ContextSequence,
    private readonly chat: LlamaChat,
  ) {}

  static async load(opts: LocalChatModelOptions): Promise<LocalChatModel> {
    const lib = await importNodeLlamaCpp();
    const threads = opts.threads ?? defaultThreads();
    const llama = await lib.getLlama({
      gpu: false,
      build: 'never',
      logLevel: 'error',
      progressLogs: false,
      maxThreads: threads,
    });
    const model = await llama.loadModel({ modelPath: opts.modelPath });
    const context = await model.createContext({
      contextSize: opts.contextSize ?? 4096,
      sequences: 1,
      threads,
    });
    const sequence = context.getSequence();
    const chat = new lib.LlamaChat({ contextSequence: sequence });
    return new LocalChatModel(llama, model, context, sequence, chat);
  }

  get contextSize(): number {
    return this.context.contextSize;
  }

  /** Requests answered, and requests stopped because their caller went away (served on /health). */
  readonly stats = { completed: 0, abandoned: 0 };

  generate(g: Generation): Promise<GenerationResult> {
    const run = this.queue.then(async () => {
      try {
        const result = await this.generateNow(g);
        this.stats.completed++;
        return result;
      } catch (err) {
        if (g.signal?.aborted) this.stats.abandoned++;
        throw err;
      }
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async generateNow(g: Generation): Promise<GenerationResult> {
    g.signal?.throwIfAborted();
    this.checkFits(g);
    const grammar = g.format ? await this.grammarFor(g.format) : undefined;
    let completionTokens = 0;
    const res = await this.chat.generateResponse(g.history, {
      maxTokens: g.maxTokens,
      temperature: g.temperature,
      topP: g.topP,
      seed: g.seed,
      grammar,
      customStopTriggers: g.stop,
      signal: g.signal,
      onToken: (tokens) => (completionTokens += tokens.length),
    });
    // The sequence now holds exactly the templated prompt followed by the generated tokens.
    const evaluated = this.sequence.contextTokens.length - completionTokens;
    return {
      text: res.response,
      finishReason: res.metadata.stopReason === 'maxTokens' ? 'length' : 'stop',
      promptTokens: evaluated > 0 ? evaluated : this.promptTokens(g.history),
      completionTokens,
    };
  }

  /** Refuses a prompt that cannot fit rather than letting llama.cpp silently drop its beginning. */
  private checkFits(g: Generation): void {
    const prompt = this.promptTokens(g.history);
    if (prompt + g.maxTokens > this.contextSize) {
      throw new ApiError(
        400,
        `messages: about ${prompt} prompt tokens + max_tokens ${g.maxTokens} exceed this model's context of ${this.contextSize} tokens`,
        'messages',
        'context_length_exceeded',
      );
    }
  }

  /** Message text tokens plus a few per message for the chat template's role markers. */
  private promptTokens(history: ChatHistoryItem[]): number {
    let n = 0;
    for (const item of history) {
      const text = item.type === 'model' ? item.response.join('') : item.text;
      n += this.model.tokenize(text).length + 4;
    }
    return n;
  }

  private grammarFor(format: NonNullable<Generation['format']>): Promise<Grammar> {
    const key = format.type === 'json_object' ? 'json' : JSON.stringify(format.schema);
    let grammar = this.grammars.get(key);
    if (!grammar) {
      grammar = this.compile(format);
      this.grammars.set(key, grammar);
      grammar.catch(() => this.grammars.delete(key));
    }
    return grammar;
  }

  private async compile(format: NonNullable<Generation['format']>): Promise<Grammar> {
    if (format.type === 'json_object') return this.llama.getGrammarFor('json');
    try {
      return await this.llama.createGrammarForJsonSchema(toGrammarSchema(format.schema));
    } catch (err) {
      const message =
        err instanceof UnsupportedSchemaError
          ? err.message
          : `response_format.json_schema.schema: ${(err as Error).message}`;
      throw new ApiError(400, message, 'response_format', 'unsupported_schema');
    }
  }

  async close(): Promise<void> {
    await this.queue;
    this.chat.dispose();
    await this.context.dispose();
    await this.model.dispose();
    await this.llama.dispose();
  }
}
