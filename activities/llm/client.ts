// The one interface every teacher/judge call goes through. Implementations (OpenAI, Anthropic, Google,
// OpenAI-compatible) live beside this file; callers depend only on this contract.
import type { z } from 'zod';
import type { SpendMeter } from './spend';
import type { ServiceModel } from '../../common/config';
import type { Usage } from '../../common/types';

export interface LlmRequest {
  model: ServiceModel;
  system?: string;
  /** user turn(s); a plain string is one user message */
  prompt: string | { role: 'user' | 'assistant'; content: string }[];
  temperature?: number;
  maxOutputTokens?: number;
  /** Stable prefix shared by many calls (e.g. the judge rubric): eligible for provider prompt caching. */
  cachePrefix?: boolean;
  signal?: AbortSignal;
}

export interface LlmText {
  text: string;
  usage: Usage;
  /** 'length' when the reply hit the output token limit */
  finish?: 'stop' | 'length' | 'refusal';
}

/** Why an item failed after bounded retries: counted and reported, never silently turned into a value. */
export type LlmFailureReason =
  | 'invalid-output'
  | 'refusal'
  | 'truncated'
  | 'rate-limited'
  | 'server-error'
  | 'timeout'
  | 'budget'
  /** the provider account has no credit or quota left (OpenAI insufficient_quota, Anthropic/Gemini billing) */
  | 'quota'
  | 'other';

export type StructuredResult<T> =
  | { ok: true; value: T; usage: Usage; attempts: number }
  | { ok: false; reason: LlmFailureReason; message: string; usage: Usage; attempts: number };

export interface LlmClient {
  generate(req: LlmRequest): Promise<LlmText>;
  /**
   * Asks for JSON matching `schema` with the provider's native structured-output mechanism, validates it,
   * and on a parse/validation failure retries with the error fed back, a bounded number of times.
   */
  generateStructured<T>(
    req: LlmRequest,
    schema: z.ZodType<T>,
    opts: { name: string },
  ): Promise<StructuredResult<T>>;
  /** This client with a spend limit of its own (each attempt reserves its worst case first). */
  withSpendLimit?(limitUsd: number, spentUsd?: number): LlmClient;
  /** This client drawing on `meter`, a spend limit shared with other clients (the judges of one shard). */
  withSpendMeter?(meter: SpendMeter): LlmClient;
}
