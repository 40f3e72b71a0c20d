// What activities report for the operator's dashboards. The worker injects a Prometheus-backed sink
// (workers/metrics/product-metrics.ts); tests and tools that do not export metrics get the no-op one.
// Labels are low-cardinality except `migration`, which an operator filters by (one series per migration).

export interface SpendLabels {
  provider: string;
  model: string;
  /** the activity that paid: teacherBaseline, synthesizeShard, judgeShard */
  stage: string;
  migration: string;
}

export interface MetricsSink {
  /** one billed provider reply */
  llmUsage(
    l: SpendLabels,
    u: { usd: number; inputTokens: number; outputTokens: number; batch: boolean },
  ): void;
  /** time a call waited for the rate limiter before it was let go */
  limiterWait(l: { provider: string; model: string }, seconds: number): void;
  /** a 429 the provider answered */
  rateLimited(l: { provider: string; model: string }): void;
  /** a GPU step moved from one phase to another (undefined: it started / ended) */
  gpuPhase(l: { step: string; backend: string }, from: string | undefined, to: string | undefined): void;
  /** a GPU step's wall time in its activity, by how it ended */
  gpuStep(
    l: { step: string; backend: string; outcome: 'succeeded' | 'failed' | 'stopped' },
    seconds: number,
  ): void;
}

export const noopMetrics: MetricsSink = {
  llmUsage() {},
  limiterWait() {},
  rateLimited() {},
  gpuPhase() {},
  gpuStep() {},
};
