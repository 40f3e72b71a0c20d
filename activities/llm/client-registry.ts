// One LlmClient per configured model in a worker process, sharing the worker-wide rate limiters.
// A missing API key is a non-retryable failure naming the variable (never a value).
import { ApplicationFailure } from '@temporalio/common';
import type { ServiceModel } from '../../common/config';
import { createLlmClient, MissingApiKeyError } from './factory';
import type { LlmClient } from './client';
import { costUsd, priceOf } from './pricing';

export type ClientFor = (model: ServiceModel) => LlmClient;

export function createClientRegistry(env: Record<string, string | undefined> = process.env): ClientFor {
  const clients = new Map<string, LlmClient>();
  return (model) => {
    const key = JSON.stringify(model);
    let client = clients.get(key);
    if (!client) {
      try {
        client = createLlmClient({ model, env });
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
