// USD per million tokens for the service models the pipeline uses, and the cost of a call from its usage.
// GPT-4o is priced as in the paper (Table 2: $5 in / $15 out). Batch APIs bill half; cached prompt tokens
// bill at the provider's cache-read rate. A migration config can override any entry (ServiceModel.price).
import type { ServiceModel } from '../../common/config';

export interface Price {
  inputPerMTok: number;
  outputPerMTok: number;
  /** cache-read rate; defaults to the input rate */
  cachedInputPerMTok?: number;
  /** multiplier for batch API calls (0.5 at all three providers) */
  batchMultiplier?: number;
}

const BATCH = 0.5;

/** Keyed by provider, then by model-name prefix; the longest matching prefix wins (gpt-4o-mini before gpt-4o). */
export const PRICES: Record<ServiceModel['provider'], Record<string, Price>> = {
  openai: {
    'gpt-4o': { inputPerMTok: 5, outputPerMTok: 15, cachedInputPerMTok: 2.5, batchMultiplier: BATCH },
    'gpt-4o-mini': {
      inputPerMTok: 0.15,
      outputPerMTok: 0.6,
      cachedInputPerMTok: 0.075,
      batchMultiplier: BATCH,
    },
    'gpt-4.1': { inputPerMTok: 2, outputPerMTok: 8, cachedInputPerMTok: 0.5, batchMultiplier: BATCH },
    'gpt-4.1-mini': {
      inputPerMTok: 0.4,
      outputPerMTok: 1.6,
      cachedInputPerMTok: 0.1,
      batchMultiplier: BATCH,
    },
    'gpt-4-turbo': { inputPerMTok: 10, outputPerMTok: 30, batchMultiplier: BATCH },
  },
  anthropic: {
    'claude-3-sonnet': {
      inputPerMTok: 3,
      outputPerMTok: 15,
      cachedInputPerMTok: 0.3,
      batchMultiplier: BATCH,
    },
    'claude-3-5-sonnet': {
      inputPerMTok: 3,
      outputPerMTok: 15,
      cachedInputPerMTok: 0.3,
      batchMultiplier: BATCH,
    },
    'claude-3-7-sonnet': {
      inputPerMTok: 3,
      outputPerMTok: 15,
      cachedInputPerMTok: 0.3,
      batchMultiplier: BATCH,
    },
    'claude-sonnet-4': {
      inputPerMTok: 3,
      outputPerMTok: 15,
      cachedInputPerMTok: 0.3,
      batchMultiplier: BATCH,
    },
    'claude-3-haiku': {
      inputPerMTok: 0.25,
      outputPerMTok: 1.25,
      cachedInputPerMTok: 0.03,
      batchMultiplier: BATCH,
    },
    'claude-3-5-haiku': {
      inputPerMTok: 0.8,
      outputPerMTok: 4,
      cachedInputPerMTok: 0.08,
      batchMultiplier: BATCH,
    },
    'claude-3-opus': { inputPerMTok: 15, outputPerMTok: 75, cachedInputPerMTok: 1.5, batchMultiplier: BATCH },
  },
  google: {
    'gemini-1.5-flash': {
      inputPerMTok: 0.075,
      outputPerMTok: 0.3,
      cachedInputPerMTok: 0.01875,
      batchMultiplier: BATCH,
    },
    'gemini-1.5-pro': {
      inputPerMTok: 1.25,
      outputPerMTok: 5,
      cachedInputPerMTok: 0.3125,
      batchMultiplier: BATCH,
    },
    'gemini-2.0-flash': {
      inputPerMTok: 0.1,
      outputPerMTok: 0.4,
      cachedInputPerMTok: 0.025,
      batchMultiplier: BATCH,
    },
    'gemini-2.5-flash': {
      inputPerMTok: 0.3,
      outputPerMTok: 2.5,
      cachedInputPerMTok: 0.075,
      batchMultiplier: BATCH,
    },
    'gemini-2.5-pro': {
      inputPerMTok: 1.25,
      outputPerMTok: 10,
      cachedInputPerMTok: 0.31,
      batchMultiplier: BATCH,
    },
  },
  // Self-hosted (vLLM, Ollama, llama.cpp): no per-token bill unless the config gives a price.
  'openai-compatible': {
    '': { inputPerMTok: 0, outputPerMTok: 0 },
  },
};

export class UnknownPriceError extends Error {
  constructor(model: ServiceModel) {
    super(
      `no price for ${model.provider} model "${model.model}": add "price" ({inputPerMTok, outputPerMTok}) to this model in the migration config`,
    );
    this.name = 'UnknownPriceError';
  }
}

/** The price of a model: the config's override, else the longest table prefix; unknown models are an error, not free. */
export function priceOf(model: ServiceModel): Price {
  if (model.price) return model.price;
  const table = PRICES[model.provider];
  const name = model.model.replace(/^models\//, '');
  let best: [string, Price] | undefined;
  for (const entry of Object.entries(table)) {
    if (name.startsWith(entry[0]) && (!best || entry[0].length > best[0].length)) best = entry;
  }
  if (!best) throw new UnknownPriceError(model);
  return best[1];
}

export interface TokenCounts {
  /** all prompt tokens, cached ones included */
  inputTokens: number;
  outputTokens: number;
  /** the share of inputTokens read from the provider's prompt cache */
  cachedTokens: number;
}

/** USD of one call (or a sum of calls), rounded to a millionth of a dollar (halves to even). */
export function costUsd(price: Price, t: TokenCounts, opts: { batch?: boolean } = {}): number {
  const uncached = Math.max(0, t.inputTokens - t.cachedTokens);
  const cachedRate = price.cachedInputPerMTok ?? price.inputPerMTok;
  const usd =
    (uncached * price.inputPerMTok + t.cachedTokens * cachedRate + t.outputTokens * price.outputPerMTok) /
    1_000_000;
  const multiplier = opts.batch ? (price.batchMultiplier ?? 1) : 1;
  return roundMicro(usd * multiplier);
}

/**
 * To a millionth of a dollar, halves to even: batch prices land exactly on half-micro-dollars, and always
 * rounding those up would overstate thousands of calls' total against the provider's bill.
 */
function roundMicro(usd: number): number {
  const v = usd * 1e6;
  const floor = Math.floor(v);
  const half = Math.abs(v - floor - 0.5) < 1e-6;
  const r = half ? (floor % 2 === 0 ? floor : floor + 1) : Math.round(v);
  return r / 1e6;
}
