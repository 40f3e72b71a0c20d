// node-llama-cpp is installed into the tools folder by scripts/setup-demo-model.sh, not into the project's
// node_modules: as a project dependency npm would also fetch its CUDA/Vulkan/ARM binaries (~650 MB) for
// every install. So it is imported by path, and this file declares the small part of its API we use.
import { pathToFileURL } from 'node:url';
import { resolveRuntimeEntry } from './model-files';

export type Token = number;

export interface Grammar {
  readonly __grammar?: never;
}

export type ChatHistoryItem =
  { type: 'system'; text: string } | { type: 'user'; text: string } | { type: 'model'; response: string[] };

export interface GenerateOptions {
  maxTokens?: number;
  temperature?: number;
  topP?: number;
  seed?: number;
  grammar?: Grammar;
  customStopTriggers?: string[];
  signal?: AbortSignal;
  stopOnAbortSignal?: boolean;
  onToken?: (tokens: Token[]) => void;
}

export interface ChatResponse {
  response: string;
  metadata: {
    stopReason:
      'eogToken' | 'stopGenerationTrigger' | 'functionCalls' | 'maxTokens' | 'abort' | 'customStopTrigger';
  };
}

export interface LlamaChat {
  generateResponse(history: ChatHistoryItem[], options: GenerateOptions): Promise<ChatResponse>;
  dispose(): void;
}

export interface ContextSequence {
  readonly contextTokens: readonly Token[];
}

export interface LlamaContext {
  readonly contextSize: number;
  getSequence(): ContextSequence;
  dispose(): Promise<void>;
}

export interface LlamaModel {
  readonly trainContextSize: number;
  tokenize(text: string): Token[];
  createContext(options: {
    contextSize?: number;
    sequences?: number;
    threads?: number;
  }): Promise<LlamaContext>;
  dispose(): Promise<void>;
}

export interface Llama {
  readonly buildType: string;
  readonly gpu: string | false;
  loadModel(options: { modelPath: string }): Promise<LlamaModel>;
  createGrammarForJsonSchema(schema: object): Promise<Grammar>;
  getGrammarFor(type: 'json'): Promise<Grammar>;
  dispose(): Promise<void>;
}

export interface NodeLlamaCpp {
  getLlama(options: {
    gpu: false;
    build: 'never';
    logLevel: 'error' | 'warn';
    progressLogs: boolean;
    maxThreads?: number;
  }): Promise<Llama>;
  LlamaChat: new (options: { contextSequence: ContextSequence }) => LlamaChat;
}

export async function importNodeLlamaCpp(entry = resolveRuntimeEntry()): Promise<NodeLlamaCpp> {
  const mod = (await import(pathToFileURL(entry).href)) as Partial<NodeLlamaCpp>;
  if (typeof mod.getLlama !== 'function' || typeof mod.LlamaChat !== 'function') {
    throw new Error(`${entry} does not look like node-llama-cpp 3.x (no getLlama/LlamaChat export)`);
  }
  return mod as NodeLlamaCpp;
}
