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

/**
 * Tags a submission so that a submit whose batch id was lost (the worker died after the provider accepted the
 * batch, before the id was stored) finds its batch instead of paying for it twice.
 */
export interface BatchIdempotency {
  /** [a-z0-9], at most 24 characters; the same for every attempt at the same submission */
  key: string;
  /** when the submission was first attempted (ms since the epoch): batches older than this are not it */
  since?: number;
}

export interface ProviderAdapter {
  readonly provider: string;
  complete(req: LlmRequest, structured: StructuredSpec | undefined, opts: CallOptions): Promise<Completion>;
  submitBatch(items: BatchItemRequest[], idempotency?: BatchIdempotency): Promise<string>;
  /** the batch an earlier submit with the same key created, by listing the account's recent batches */
  findBatch(idempotency: BatchIdempotency, itemCount: number): Promise<string | null>;
  batchStatus(batchId: string): Promise<BatchStatus>;
  batchResults(batchId: string): Promise<Map<string, BatchItemResult>>;
  /** stops a batch in progress: what has not run is not billed; a batch that ended is left as it is */
  cancelBatch(batchId: string): Promise<void>;
}

/** How many of the account's most recent batches a lookup by key looks at. */
export const FIND_BATCH_WINDOW = 100;

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
