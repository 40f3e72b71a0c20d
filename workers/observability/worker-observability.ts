// Everything a worker process wires for operators, in one place: the runtime (JSON logs, SDK metrics),
// the product metrics and their /metrics endpoint, the activity scope interceptor, the workflow
// observability interceptor module and, when configured, OpenTelemetry tracing.
import type { Server } from 'node:http';
import type { LogLevel, WorkerOptions } from '@temporalio/worker';
import type { MetricsSink } from '../../activities/metrics/sink';
import { scopeInterceptor } from './activity-interceptor';
import { startMetricsServer } from './metrics-server';
import { createProductMetrics } from './product-metrics';
import { freeLoopbackPort, installWorkerRuntime } from './runtime';
import { tracingPluginFromEnv } from './tracing';

/** Workflow interceptor modules; a prebuilt workflow bundle must be built with them (workflowInterceptorModules). */
export const WORKFLOW_INTERCEPTOR_MODULES = [
  new URL('../../workflows/observability.ts', import.meta.url).pathname,
];

export interface WorkerObservability {
  metrics: MetricsSink;
  workerOptions: Pick<WorkerOptions, 'interceptors' | 'plugins'>;
  /** the /metrics server, when a port was given */
  server?: Server;
  close(): Promise<void>;
}

export async function setUpWorkerObservability(opts: {
  logLevel: LogLevel;
  /** 0: no /metrics (and no SDK exporter) */
  metricsPort: number;
  env?: Record<string, string | undefined>;
}): Promise<WorkerObservability> {
  const sdkMetricsPort = opts.metricsPort ? await freeLoopbackPort() : undefined;
  const sdkMetricsUrl = installWorkerRuntime({ logLevel: opts.logLevel, sdkMetricsPort });
  const product = createProductMetrics();
  const server = opts.metricsPort
    ? await startMetricsServer({ port: opts.metricsPort, registry: product.registry, sdkMetricsUrl })
    : undefined;
  const tracing = tracingPluginFromEnv(opts.env ?? process.env);
  return {
    metrics: product.sink,
    workerOptions: {
      interceptors: { activity: [scopeInterceptor], workflowModules: WORKFLOW_INTERCEPTOR_MODULES },
      plugins: tracing ? [tracing] : undefined,
    },
    server,
    close: () => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())),
  };
}
