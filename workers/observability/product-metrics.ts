// The product's own Prometheus series (prom-client), fed by the activities through the MetricsSink they are
// given. Workflow-side series (stage durations, cycle scores) come from the Temporal SDK's workflow metric
// meter instead and are served beside these (metrics-server.ts).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { MetricsSink } from '../../activities/metrics/sink';
import { informerStats } from '../../activities/gpu/job-informer';

export interface ProductMetrics {
  registry: Registry;
  sink: MetricsSink;
}

export function createProductMetrics(): ProductMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'llamaduo_worker_' });
  const spendLabels = ['provider', 'model', 'stage', 'migration'] as const;
  const spend = new Counter({
    name: 'llamaduo_llm_spend_usd_total',
    help: 'USD billed by service LLM providers (priced from the reported tokens)',
    labelNames: spendLabels,
    registers: [registry],
  });
  const tokens = new Counter({
    name: 'llamaduo_llm_tokens_total',
    help: 'Tokens billed by service LLM providers, by direction (input, output)',
    labelNames: [...spendLabels, 'direction'],
    registers: [registry],
  });
  const calls = new Counter({
    name: 'llamaduo_llm_calls_total',
    help: 'Billed provider replies (batch: through a Batch API)',
    labelNames: [...spendLabels, 'batch'],
    registers: [registry],
  });
  const wait = new Histogram({
    name: 'llamaduo_llm_limiter_wait_seconds',
    help: 'Time a call waited for the rate limiter (shared or per process) before it was sent',
    labelNames: ['provider', 'model'],
    buckets: [0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
    registers: [registry],
  });
  const limited = new Counter({
    name: 'llamaduo_llm_rate_limited_total',
    help: '429 (rate limited) answers from the provider',
    labelNames: ['provider', 'model'],
    registers: [registry],
  });
  const gpuSteps = new Gauge({
    name: 'llamaduo_gpu_steps',
    help: 'GPU steps this worker is waiting on, by their current phase (queued, pending, running, ...)',
    labelNames: ['step', 'backend', 'phase'],
    registers: [registry],
  });
  const gpuTransitions = new Counter({
    name: 'llamaduo_gpu_phase_transitions_total',
    help: 'GPU steps entering a phase',
    labelNames: ['step', 'backend', 'phase'],
    registers: [registry],
  });
  const gpuDuration = new Histogram({
    name: 'llamaduo_gpu_step_duration_seconds',
    help: 'Wall time of a GPU step in its activity (submit to result), by outcome',
    labelNames: ['step', 'backend', 'outcome'],
    buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400, 28800],
    registers: [registry],
  });
  new Gauge({
    name: 'llamaduo_gpu_informers',
    help: 'Shared Job/pod informers this worker runs (one per namespace while steps wait)',
    registers: [registry],
    collect() {
      this.set(informerStats.active);
    },
  });

  const sink: MetricsSink = {
    llmUsage(l, u) {
      spend.inc(l, u.usd);
      tokens.inc({ ...l, direction: 'input' }, u.inputTokens);
      tokens.inc({ ...l, direction: 'output' }, u.outputTokens);
      calls.inc({ ...l, batch: String(u.batch) });
    },
    limiterWait(l, seconds) {
      wait.observe(l, seconds);
    },
    rateLimited(l) {
      limited.inc(l);
    },
    gpuPhase(l, from, to) {
      if (from !== undefined) gpuSteps.dec({ ...l, phase: from });
      if (to !== undefined) {
        gpuSteps.inc({ ...l, phase: to });
        gpuTransitions.inc({ ...l, phase: to });
      }
    },
    gpuStep(l, seconds) {
      gpuDuration.observe(l, seconds);
    },
  };
  return { registry, sink };
}
