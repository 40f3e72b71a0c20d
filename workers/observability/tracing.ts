// OpenTelemetry tracing through the Temporal interceptors, on when OTEL_EXPORTER_OTLP_ENDPOINT is set (the
// standard OTLP/HTTP variables then configure the exporter: OTEL_EXPORTER_OTLP_HEADERS, ..._TRACES_ENDPOINT).
// Workflow spans are exported through a sink by the worker, never from workflow code.
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { Resource } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { OpenTelemetryPlugin } from '@temporalio/interceptors-opentelemetry';

export function tracingPluginFromEnv(
  env: Record<string, string | undefined>,
  serviceName = 'llamaduo-worker',
): OpenTelemetryPlugin | undefined {
  if (!env.OTEL_EXPORTER_OTLP_ENDPOINT && !env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) return undefined;
  const resource = new Resource({ 'service.name': env.OTEL_SERVICE_NAME ?? serviceName });
  const spanProcessor = new BatchSpanProcessor(new OTLPTraceExporter());
  // Workflow spans go through the plugin's sink; activity (and client) spans through this provider's tracer.
  const provider = new BasicTracerProvider({ resource });
  provider.addSpanProcessor(spanProcessor);
  provider.register();
  return new OpenTelemetryPlugin({ resource, spanProcessor, tracer: provider.getTracer('llamaduo') });
}
