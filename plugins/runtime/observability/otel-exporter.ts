import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Span, type Tracer } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { onUsageEvent } from '../usage-events';
import { spansForEvent, type SpanSpec } from './genai-spans';

/** Loaded only when tracing is configured (see tracing.ts): the OpenTelemetry SDK and its OTLP/HTTP exporter. */
export function startOtlpTracing(url: string, headers: Record<string, string>, serviceName: string) {
  const exporter = new OTLPTraceExporter({ url, headers });
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': serviceName }),
    spanProcessors: [new BatchSpanProcessor({ exporter, scheduledDelayMillis: 1000, exportTimeoutMillis: 5000 })],
  });
  const tracer = provider.getTracer('kong-llm-suite');
  const unsubscribe = onUsageEvent((e) => record(tracer, spansForEvent(e)));
  return {
    flush: () => provider.forceFlush(),
    async shutdown() {
      unsubscribe();
      await provider.shutdown();
    },
  };
}

function record(tracer: Tracer, spec: SpanSpec, parent?: Span): void {
  const span = tracer.startSpan(
    spec.name,
    { kind: spec.kind === 'server' ? SpanKind.SERVER : SpanKind.CLIENT, startTime: spec.startMs, attributes: spec.attributes },
    parent ? trace.setSpan(ROOT_CONTEXT, parent) : ROOT_CONTEXT,
  );
  if (spec.error !== undefined) {
    span.setAttribute('error.type', spec.error);
    span.setStatus({ code: SpanStatusCode.ERROR });
  }
  for (const child of spec.children) record(tracer, child, span);
  span.end(spec.endMs);
}
