// The worker process's Temporal runtime: JSON logs, and the SDK's own metrics (task latencies, poll and
// slot usage, sticky cache, plus the workflows' stage durations and cycle scores) on a loopback Prometheus
// exporter that /metrics (metrics-server.ts) serves together with the product's series.
import { createServer } from 'node:net';
import { Runtime, type LogLevel } from '@temporalio/worker';
import { jsonLogger } from './json-logger';

/** A free loopback port for the SDK exporter (only /metrics reads it). */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** Installs the runtime; returns the URL of the SDK's Prometheus endpoint, if metrics are on. */
export function installWorkerRuntime(opts: {
  logLevel: LogLevel;
  sdkMetricsPort?: number;
}): string | undefined {
  const bindAddress = opts.sdkMetricsPort ? `127.0.0.1:${opts.sdkMetricsPort}` : undefined;
  Runtime.install({
    logger: jsonLogger(opts.logLevel),
    telemetryOptions: {
      // the native core's own log lines go through the same JSON logger
      logging: { filter: { core: 'WARN', other: 'ERROR' }, forward: {} },
      ...(bindAddress
        ? {
            metrics: {
              prometheus: { bindAddress, countersTotalSuffix: true, useSecondsForDurations: true },
            },
          }
        : {}),
    },
  });
  return bindAddress ? `http://${bindAddress}/metrics` : undefined;
}
