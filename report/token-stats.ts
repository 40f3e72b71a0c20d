// Token statistics of a dataset (the paper's Table 4: count, min, max, mean and spread of tokens per sample),
// with the pipeline's own token estimate (four characters a token) since students bring their own tokenizers.
import { estimateTokens } from '../activities/llm/service-client';

export interface TokenSummary {
  min: number;
  max: number;
  mean: number;
  median: number;
  /** population standard deviation */
  std: number;
}

export interface TokenStats {
  records: number;
  /** instruction plus context */
  prompt: TokenSummary;
  response: TokenSummary;
  /** prompt plus response: what the paper's Table 4 counts */
  total: TokenSummary;
}

export interface TextRecord {
  instruction?: string;
  context?: string;
  response?: string;
}

export function summarize(values: number[]): TokenSummary {
  if (values.length === 0) return { min: 0, max: 0, mean: 0, median: 0, std: 0 };
  const sorted = [...values].sort((a, b) => a - b);
  const n = sorted.length;
  const mean = sorted.reduce((s, v) => s + v, 0) / n;
  const median = n % 2 ? sorted[(n - 1) / 2]! : (sorted[n / 2 - 1]! + sorted[n / 2]!) / 2;
  const std = Math.sqrt(sorted.reduce((s, v) => s + (v - mean) ** 2, 0) / n);
  return { min: sorted[0]!, max: sorted[n - 1]!, mean, median, std };
}

export function promptOf(r: TextRecord): string {
  return r.context ? `${r.instruction ?? ''}\n\n${r.context}` : (r.instruction ?? '');
}

/** Collects token counts record by record (datasets can be large: only three numbers a record are kept). */
export class TokenCounter {
  private readonly prompt: number[] = [];
  private readonly response: number[] = [];

  add(r: TextRecord): void {
    this.prompt.push(estimateTokens(promptOf(r)));
    this.response.push(estimateTokens(r.response ?? ''));
  }

  stats(): TokenStats {
    return {
      records: this.prompt.length,
      prompt: summarize(this.prompt),
      response: summarize(this.response),
      total: summarize(this.prompt.map((p, i) => p + this.response[i]!)),
    };
  }
}

export function tokenStats(records: Iterable<TextRecord>): TokenStats {
  const c = new TokenCounter();
  for (const r of records) c.add(r);
  return c.stats();
}
