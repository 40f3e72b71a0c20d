// What each provider adapter (openai.ts, anthropic.ts, google.ts) implements: one completion and the three
// steps of a batch job, in provider-neutral shapes. Retries, rate limits, validation and money live in
// service-client.ts and batch.ts, once for all providers.
import type { LlmRequest } from './client';
import type { TokenCounts } from './pricing';

export interface StructuredSpec {
  name: string;
  /** JSON Schema with an object at the root (see structured.ts) */
  jsonSchema: Record<string, unknown>;
}

export interface Completion {
  /** the model's text; for structured calls, the JSON text */
  text: string;
  finish: 'stop' | 'length' | 'refusal';
  tokens: TokenCounts;
}

export interface CallOptions {
  signal: AbortSignal;
}

export interface BatchItemRequest {
  id: string;
  req: LlmRequest;
  structured?: StructuredSpec;
}

export type BatchState = 'running' | 'ended' | 'failed';

export interface BatchStatus {
  state: BatchState;
  done?: number;
  total?: number;
  /** provider's words when state is 'failed' */
  detail?: string;
}

export type BatchItemResult = Completion | { error: string };

export interface ProviderAdapter {
  readonly provider: string;
  complete(req: LlmRequest, structured: StructuredSpec | undefined, opts: CallOptions): Promise<Completion>;
  submitBatch(items: BatchItemRequest[]): Promise<string>;
  batchStatus(batchId: string): Promise<BatchStatus>;
  batchResults(batchId: string): Promise<Map<string, BatchItemResult>>;
}

/** A request's turns, system prompt first when present. */
export function turns(req: LlmRequest): { role: 'user' | 'assistant'; content: string }[] {
  return typeof req.prompt === 'string' ? [{ role: 'user', content: req.prompt }] : req.prompt;
}

export function temperatureOf(req: LlmRequest): number | undefined {
  return req.temperature ?? req.model.temperature;
}

export function maxTokensOf(req: LlmRequest, fallback: number): number {
  return req.maxOutputTokens ?? req.model.maxOutputTokens ?? fallback;
}
