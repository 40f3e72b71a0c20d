// One LlmClient per configured model in a worker process, sharing the worker's rate limiters (per process,
// or across replicas through Redis).
// A missing API key is a non-retryable failure naming the variable (never a value).
import { ApplicationFailure } from '@temporalio/common';
import type { ServiceModel } from '../../common/config';
import { createLlmClient, MissingApiKeyError } from './factory';
import type { Limiters } from './limiter';
import { limitersFromEnv } from './limiters-from-env';
import type { LlmClient } from './client';
import type { MetricsSink } from '../metrics/sink';
import { costUsd, priceOf } from './pricing';

export type ClientFor = (model: ServiceModel) => LlmClient;

/**
 * Transport tuning from the worker environment: LLAMADUO_LLM_TIMEOUT_MS (per attempt), LLAMADUO_LLM_ATTEMPTS
 * (transient failures per call), LLAMADUO_LLM_BACKOFF_MS (first backoff). Unset: the client's defaults.
 */
export function llmTuningFromEnv(env: Record<string, string | undefined>) {
  const num = (name: string) => {
    const v = env[name];
    if (v === undefined || v === '') return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer (got "${v}")`);
    return n;
  };
  return {
    timeoutMs: num('LLAMADUO_LLM_TIMEOUT_MS'),
    maxAttempts: num('LLAMADUO_LLM_ATTEMPTS'),
    backoffMs: num('LLAMADUO_LLM_BACKOFF_MS'),
  };
}

/** `limiters` default: from LLAMADUO_REDIS_URL / LLAMADUO_RATE_LIMITS (limiters-from-env.ts). */
export function createClientRegistry(
  env: Record<string, string | undefined> = process.env,
  limiters: Limiters = limitersFromEnv(env),
  metrics?: MetricsSink,
): ClientFor {
  const clients = new Map<string, LlmClient>();
  const tuning = llmTuningFromEnv(env);
  return (model) => {
    const key = JSON.stringify(model);
    let client = clients.get(key);
    if (!client) {
      try {
        client = createLlmClient({ model, env, tuning, limiters, metrics });
      } catch (err) {
        if (err instanceof MissingApiKeyError)
          throw ApplicationFailure.nonRetryable(err.message, 'MissingCredentials');
        throw err;
      }
      clients.set(key, client);
    }
    return client;
  };
}

/** USD of estimated token counts from the pricing table: plans carry a price so the workflow can check budget. */
export function estimateUsd(model: ServiceModel, tokens: { input: number; output: number }): number {
  return costUsd(
    priceOf(model),
    { inputTokens: tokens.input, outputTokens: tokens.output, cachedTokens: 0 },
    {
      batch: model.batch,
    },
  );
}
