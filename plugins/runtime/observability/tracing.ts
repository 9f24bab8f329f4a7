import { log } from '../logger';

export interface Tracing {
  flush(): Promise<void>;
  shutdown(): Promise<void>;
}

/**
 * Where spans go: LLM_OTLP_ENDPOINT (a full traces URL), else the standard OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, else
 * OTEL_EXPORTER_OTLP_ENDPOINT + /v1/traces. None set → tracing off.
 */
export function otlpTracesUrl(env: NodeJS.ProcessEnv): string | undefined {
  if (env.OTEL_SDK_DISABLED === 'true') return undefined;
  const direct = env.LLM_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  if (direct) return direct;
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT;
  return base ? `${base.replace(/\/+$/, '')}/v1/traces` : undefined;
}

/** `k1=v1,k2=v2` (OTEL_EXPORTER_OTLP_HEADERS' format), values URL-decoded. */
function parseHeaders(text: string | undefined): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const pair of (text ?? '').split(',')) {
    const eq = pair.indexOf('=');
    if (eq > 0) headers[pair.slice(0, eq).trim()] = decodeURIComponent(pair.slice(eq + 1).trim());
  }
  return headers;
}

/**
 * Starts exporting a trace per relayed request when an OTLP endpoint is configured. When none is, nothing is loaded:
 * the OpenTelemetry SDK is required here, lazily, so tracing off costs neither memory nor a listener.
 */
export function installTracingFromEnv(env: NodeJS.ProcessEnv = process.env): Tracing | undefined {
  const url = otlpTracesUrl(env);
  if (!url) return undefined;
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy on purpose (see above)
  const { startOtlpTracing } = require('./otel-exporter') as typeof import('./otel-exporter');
  const headers = parseHeaders(env.OTEL_EXPORTER_OTLP_TRACES_HEADERS ?? env.OTEL_EXPORTER_OTLP_HEADERS);
  const tracing = startOtlpTracing(url, headers, env.OTEL_SERVICE_NAME || 'kong-llm-suite');
  log.info('tracing on', { otlp_endpoint: new URL(url).origin });
  return tracing;
}
