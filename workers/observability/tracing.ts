// OpenTelemetry tracing through the Temporal interceptors, on when OTEL_EXPORTER_OTLP_ENDPOINT is set (the
// standard OTLP/HTTP variables then configure the exporter: OTEL_EXPORTER_OTLP_HEADERS, ..._TRACES_ENDPOINT).
// Workflow spans are exported through a sink by the worker, never from workflow code.
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { Resource } from '@opentelemetry/resources';
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { OpenTelemetryPlugin } from '@temporalio/interceptors-opentelemetry';

export function tracingPluginFromEnv(
  env: Record<string, string | undefined>,
  serviceName = 'llamaduo-worker',
): OpenTelemetryPlugin | undefined {
  if (!env.OTEL_EXPORTER_OTLP_ENDPOINT && !env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) return undefined;
  return new OpenTelemetryPlugin({
    resource: new Resource({ 'service.name': env.OTEL_SERVICE_NAME ?? serviceName }),
    spanProcessor: new BatchSpanProcessor(new OTLPTraceExporter()),
  });
}
