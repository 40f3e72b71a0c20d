// The test servers' own price list: what they bill per million tokens, kept apart from the client's pricing
// table (activities/llm/pricing.ts) on purpose, so a test or benchmark that compares the client's spend with
// the server's bill compares two independent computations. Figures are the providers' published list
// prices; each provider's batch API bills half.

export interface ServerPrice {
  input: number;
  output: number;
  /** cache-read rate per million tokens */
  cachedInput: number;
  /** share of the price a batch item is billed at */
  batch: number;
}

/** provider -> model-name prefix -> price; the longest matching prefix wins. */
export const SERVER_PRICES: Record<string, Record<string, ServerPrice>> = {
  openai: {
    'gpt-4o': { input: 5, output: 15, cachedInput: 2.5, batch: 0.5 },
    'gpt-4o-mini': { input: 0.15, output: 0.6, cachedInput: 0.075, batch: 0.5 },
    'gpt-4.1': { input: 2, output: 8, cachedInput: 0.5, batch: 0.5 },
    'gpt-4.1-mini': { input: 0.4, output: 1.6, cachedInput: 0.1, batch: 0.5 },
    'gpt-4-turbo': { input: 10, output: 30, cachedInput: 10, batch: 0.5 },
  },
  anthropic: {
    'claude-3-sonnet': { input: 3, output: 15, cachedInput: 0.3, batch: 0.5 },
    'claude-3-5-sonnet': { input: 3, output: 15, cachedInput: 0.3, batch: 0.5 },
    'claude-sonnet-4': { input: 3, output: 15, cachedInput: 0.3, batch: 0.5 },
    'claude-3-7-sonnet': { input: 3, output: 15, cachedInput: 0.3, batch: 0.5 },
    'claude-3-haiku': { input: 0.25, output: 1.25, cachedInput: 0.03, batch: 0.5 },
    'claude-3-5-haiku': { input: 0.8, output: 4, cachedInput: 0.08, batch: 0.5 },
    'claude-3-opus': { input: 15, output: 75, cachedInput: 1.5, batch: 0.5 },
  },
  google: {
    'gemini-1.5-flash': { input: 0.075, output: 0.3, cachedInput: 0.01875, batch: 0.5 },
    'gemini-1.5-pro': { input: 1.25, output: 5, cachedInput: 0.3125, batch: 0.5 },
    'gemini-2.0-flash': { input: 0.1, output: 0.4, cachedInput: 0.025, batch: 0.5 },
    'gemini-2.5-flash': { input: 0.3, output: 2.5, cachedInput: 0.075, batch: 0.5 },
    'gemini-2.5-pro': { input: 1.25, output: 10, cachedInput: 0.31, batch: 0.5 },
  },
};

export function serverPriceOf(
  provider: string,
  model: string,
  overrides: Record<string, ServerPrice> = {},
): ServerPrice | undefined {
  const name = model.replace(/^models\//, '');
  if (overrides[name]) return overrides[name];
  let best: [string, ServerPrice] | undefined;
  for (const entry of Object.entries(SERVER_PRICES[provider] ?? {}))
    if (name.startsWith(entry[0]) && (!best || entry[0].length > best[0].length)) best = entry;
  return best?.[1];
}

/** USD the server bills for one reply, unrounded (a provider's invoice sums line items, then rounds). */
export function billUsd(
  price: ServerPrice,
  t: { input: number; output: number; cached: number },
  batch: boolean,
): number {
  const usd =
    ((t.input - t.cached) * price.input + t.cached * price.cachedInput + t.output * price.output) / 1_000_000;
  return batch ? usd * price.batch : usd;
}
