import type { UsageEvent } from '../usage-events';
import { attemptFailed, providerAttempts, type ProviderAttempt } from './usage-summary';

/**
 * The spans of one relayed request, derived from its usage event: a SERVER span for the request and a CLIENT span per
 * provider call with the OpenTelemetry GenAI semantic-convention attributes (gen_ai.*). Pure data, so the SDK is only
 * loaded when tracing is on.
 */
export interface SpanSpec {
  name: string;
  kind: 'server' | 'client';
  startMs: number;
  endMs: number;
  attributes: Record<string, string | number | boolean | string[]>;
  error?: string;
  children: SpanSpec[];
}

/** Suite provider id → gen_ai.provider.name (semantic-conventions-genai registry values). */
const GENAI_PROVIDER: Record<string, string> = {
  openai: 'openai',
  anthropic: 'anthropic',
  azure: 'azure.ai.openai',
  bedrock: 'aws.bedrock',
  vertex: 'gcp.vertex_ai',
  gemini: 'gcp.gemini',
  mistral: 'mistral_ai',
  cohere: 'cohere',
  groq: 'groq',
  deepseek: 'deepseek',
  xai: 'x_ai',
  perplexity: 'perplexity',
};

/** The relay's API → gen_ai.operation.name; calls of other APIs (model lists) get no provider span. */
const OPERATION: Record<string, string> = {
  'openai-chat': 'chat',
  'anthropic-messages': 'chat',
  'openai-embeddings': 'embeddings',
};

export function spansForEvent(e: UsageEvent): SpanSpec {
  const startMs = Date.parse(e.time);
  const endMs = startMs + e.latency_ms;
  const operation = OPERATION[e.api];
  const proxy = (e.llm_proxy ?? {}) as { requested_model?: unknown; logical_model?: unknown; finish_reasons?: unknown; server_address?: unknown };
  const requestModel = stringOr(proxy.requested_model) ?? e.model;
  const root: SpanSpec = {
    name: operation ? `llm-relay ${operation}` : `llm-relay ${e.api}`,
    kind: 'server',
    startMs,
    endMs,
    attributes: compact({
      'llm.request_id': e.request_id,
      'kong.request_id': e.kong_request_id,
      'llm.api': e.api,
      'llm.stream': e.stream,
      'llm.consumer': e.consumer?.username ?? e.consumer?.id,
      'llm.route': e.route?.name ?? e.route?.id,
      'llm.answered_by': e.answered_by,
      'llm.cost_usd': typeof (e.cost as { usd?: unknown } | undefined)?.usd === 'string' ? Number((e.cost as { usd: string }).usd) : undefined,
      'http.response.status_code': e.status || undefined,
      'llm.logical_model': stringOr(proxy.logical_model),
      'gen_ai.operation.name': operation,
      'gen_ai.request.model': stringOr(proxy.logical_model) ?? requestModel,
    }),
    error: e.status === 0 || e.status >= 500 ? (e.error_code ?? String(e.status)) : undefined,
    children: [],
  };
  if (!operation || e.answered_by || !e.provider) return root;

  const attempts: ProviderAttempt[] = providerAttempts(e);
  const calls = attempts.length > 0 ? attempts : [{ provider: e.provider, model: requestModel, status: e.status, latency_ms: e.latency_ms, server_address: stringOr(proxy.server_address) }];
  // attempts carry durations, not start times: they are laid end to end, the last ending with the request
  let cursor = attempts.length > 0 ? Math.max(startMs, endMs - calls.reduce((sum, a) => sum + (a.latency_ms ?? 0), 0)) : startMs;
  calls.forEach((call, i) => {
    const last = i === calls.length - 1;
    const provider = call.provider ?? e.provider!;
    const model = call.model ?? requestModel;
    const callEnd = Math.min(endMs, cursor + (call.latency_ms ?? 0));
    const failed = attempts.length > 0 ? attemptFailed(call) : call.status === 0 || (call.status ?? 0) >= 400;
    root.children.push({
      name: `${operation} ${model ?? ''}`.trim(),
      kind: 'client',
      startMs: cursor,
      endMs: last && attempts.length === 0 ? endMs : callEnd,
      attributes: compact({
        'gen_ai.operation.name': operation,
        'gen_ai.provider.name': GENAI_PROVIDER[provider] ?? provider,
        'gen_ai.system': GENAI_PROVIDER[provider] ?? provider, // the name before semconv 1.37, still read by many back ends
        'gen_ai.request.model': model,
        'gen_ai.response.model': last && !failed ? e.model : undefined,
        'gen_ai.usage.input_tokens': last && !failed ? e.usage?.prompt_tokens : undefined,
        'gen_ai.usage.output_tokens': last && !failed ? e.usage?.completion_tokens : undefined,
        'gen_ai.response.finish_reasons': last && Array.isArray(proxy.finish_reasons) ? proxy.finish_reasons.map(String) : undefined,
        // only when llm-proxy records it: a provider's default host would be wrong for a custom base_url
        'server.address': call.server_address,
        'http.response.status_code': call.status || undefined,
        'llm.attempt': i + 1,
        'llm.target': call.target,
      }),
      error: failed ? (call.reason ?? (last ? e.error_code : undefined) ?? (call.status ? String(call.status) : '_OTHER')) : undefined,
      children: [],
    });
    cursor = callEnd;
  });
  return root;
}

const stringOr = (v: unknown) => (typeof v === 'string' ? v : undefined);

function compact(attrs: Record<string, string | number | boolean | string[] | undefined>): SpanSpec['attributes'] {
  const out: SpanSpec['attributes'] = {};
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== '') out[k] = v;
  return out;
}
