// Builds the LlmClient for a ServiceModel: picks the provider adapter, reads the API key from the worker's
// environment (never from config, history or logs), and wires the worker-wide rate limiter, the pricing
// table and an optional spend limit.
import type { MetricsSink } from '../metrics/sink';
import type { ServiceModel } from '../../common/config';
import type { Usage } from '../../common/types';
import { createAnthropicAdapter } from './anthropic';
import { createGoogleAdapter } from './google';
import { sharedLimiters, type Limiters, type Limits, type RateLimiter } from './limiter';
import { createOpenAiAdapter } from './openai';
import { priceOf } from './pricing';
import type { ProviderAdapter } from './provider';
import { ServiceLlmClient, type ServiceClientOptions } from './service-client';
import type { SpendMeter } from './spend';

export const DEFAULT_KEY_ENV: Record<ServiceModel['provider'], string> = {
  openai: 'OPENAI_API_KEY',
  anthropic: 'ANTHROPIC_API_KEY',
  google: 'GEMINI_API_KEY',
  'openai-compatible': 'OPENAI_API_KEY',
};

/** The variable a model's key is read from, and whether it must be set (a self-hosted openai-compatible server needs none). */
export function apiKeyVariable(model: ServiceModel): { variable: string; required: boolean } {
  return {
    variable: model.apiKeyEnv ?? DEFAULT_KEY_ENV[model.provider],
    required: !(model.provider === 'openai-compatible' && !model.apiKeyEnv),
  };
}

export class MissingApiKeyError extends Error {
  constructor(model: ServiceModel, variable: string) {
    super(
      `no API key for ${model.provider} model "${model.model}": set the environment variable ${variable} on the worker`,
    );
    this.name = 'MissingApiKeyError';
  }
}

export interface CreateLlmClientOptions {
  model: ServiceModel;
  /** where keys are read from; default process.env */
  env?: Record<string, string | undefined>;
  /** worker-wide limiters (per process or shared through Redis, see limiters-from-env.ts); default per process */
  limiters?: Limiters;
  /** limits for this model when the config gives none (burst, concurrency, rpm/tpm) */
  limits?: Partial<Limits>;
  fetch?: typeof globalThis.fetch;
  spend?: SpendMeter;
  onUsage?: (usage: Usage, info: { batch: boolean }) => void;
  metrics?: MetricsSink;
  /** transport tuning, mostly for tests */
  tuning?: Pick<
    ServiceClientOptions,
    | 'maxAttempts'
    | 'structuredAttempts'
    | 'timeoutMs'
    | 'backoffMs'
    | 'maxBackoffMs'
    | 'defaultMaxTokens'
    | 'sleep'
  >;
}

export function createLlmClient(opts: CreateLlmClientOptions): ServiceLlmClient {
  const { model } = opts;
  const env = opts.env ?? process.env;
  const { variable, required } = apiKeyVariable(model);
  let apiKey = env[variable];
  if (!apiKey) {
    // A self-hosted server usually wants no key; the SDK still needs a non-empty string.
    if (!required) apiKey = 'none';
    else throw new MissingApiKeyError(model, variable);
  }
  if (model.provider === 'openai-compatible' && !model.baseURL)
    throw new Error(`model "${model.model}": provider openai-compatible needs a baseURL`);
  const defaultMaxTokens = opts.tuning?.defaultMaxTokens ?? 1024;
  const limiter = (opts.limiters ?? sharedLimiters).for(model, opts.limits);
  const common = {
    apiKey,
    baseURL: model.baseURL,
    fetch: observingFetch(opts.fetch ?? globalThis.fetch, limiter),
    defaultMaxTokens,
  };
  let adapter: ProviderAdapter;
  switch (model.provider) {
    case 'openai':
      adapter = createOpenAiAdapter(common);
      break;
    case 'openai-compatible':
      adapter = createOpenAiAdapter({ ...common, compatible: true });
      break;
    case 'anthropic':
      adapter = createAnthropicAdapter(common);
      break;
    case 'google':
      adapter = createGoogleAdapter(common);
      break;
  }
  return new ServiceLlmClient({
    model,
    adapter,
    limiter,
    price: priceOf(model),
    secrets: [apiKey],
    spend: opts.spend,
    onUsage: opts.onUsage,
    metrics: opts.metrics,
    ...opts.tuning,
    defaultMaxTokens,
  });
}

/** Reads the limits OpenAI and Anthropic report on every response, so a limiter configured too high learns the real ones. */
function observingFetch(inner: typeof globalThis.fetch, limiter: RateLimiter): typeof globalThis.fetch {
  const num = (v: string | null) => (v && /^\d+$/.test(v) ? Number(v) : undefined);
  return async (input, init) => {
    const res = await inner(input, init);
    const h = res.headers;
    limiter.observeLimits({
      rpm: num(h.get('x-ratelimit-limit-requests') ?? h.get('anthropic-ratelimit-requests-limit')),
      tpm: num(h.get('x-ratelimit-limit-tokens') ?? h.get('anthropic-ratelimit-tokens-limit')),
    });
    return res;
  };
}
