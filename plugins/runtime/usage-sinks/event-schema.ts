import { z } from 'zod';

/**
 * The usage event (one per request the relay handled) as a zod schema: the source of the UsageEvent type and of
 * docs/usage-event.schema.json. Objects are loose: consumers must accept fields added later.
 */

const count = z.number().int().nonnegative();
const usdString = z.string().describe('US dollars as a decimal string with up to 6 places, e.g. "0.001250"');
const IdName = z.looseObject({ id: z.string(), name: z.string().optional() });

const Usage = z
  .looseObject({
    prompt_tokens: count,
    completion_tokens: count,
    total_tokens: count,
    cached_tokens: count.optional().describe('prompt tokens served from the provider’s prompt cache'),
    reasoning_tokens: count.optional().describe('completion tokens spent on hidden reasoning'),
    estimated: z.boolean().describe('true when counted by the gateway’s tokenizer because the provider reported no usage'),
  })
  .describe('Token usage, as reported by the provider or estimated');

const LimitReport = z.looseObject({
  name: z.string(),
  window: z.string().describe('seconds for fixed windows, the period name for calendar ones'),
  count: z.string().describe('what the limit counts (e.g. total_tokens, prompt_tokens, requests)'),
  limit: count,
  reserved: count.describe('tokens (or requests) reserved for this request'),
  remaining: z.number().optional().describe('smallest remaining over this limit’s counters; absent when the store was not reached'),
  reset_seconds: z.number(),
  settled: z.number().optional().describe('the amount the reservation was settled with'),
});

export const TokenLimitAnnotationSchema = z
  .looseObject({
    decision: z.enum(['allowed', 'rejected', 'store_failed_open', 'store_failed_closed', 'no_limits']),
    rejected_by: z.string().optional().describe('the name of the limit that refused the request'),
    estimated_prompt_tokens: count,
    estimate_exact: z.boolean().describe('true when the model’s own tokenizer was used'),
    tokenizer_family: z.string(),
    expected_completion_tokens: count,
    limits: z.array(LimitReport),
    settlement: z
      .enum(['usage', 'refund', 'streamed', 'late', 'failed'])
      .optional()
      .describe('usage: actual usage; refund: provider not called or failed; streamed: partial, counted by the gateway; late: reservation had expired'),
  })
  .describe('Added by llm-token-limit');

const BudgetReport = z.looseObject({
  name: z.string(),
  subject: z.string().describe('who the budget applies to, e.g. consumer=alice'),
  period: z.string(),
  window_start: z.iso.datetime(),
  limit_usd: usdString,
});

export const CostAnnotationSchema = z
  .looseObject({
    usd: usdString,
    micro_usd: count.describe('the cost in millionths of a US dollar'),
    estimated: z.boolean().optional(),
    catalog_version: z.string(),
    price_source: z.string().optional().describe('catalog:<version>, config, default or zero (unknown model counted at $0)'),
    price_effective_date: z.string().optional(),
    tags: z.record(z.string(), z.string()).describe('cost-allocation tags (from consumer tags or request headers, as configured)'),
    attribution: z
      .looseObject({
        consumer: z.string(),
        consumer_groups: z.array(z.string()),
        route: z.string(),
        service: z.string(),
        provider: z.string(),
        model: z.string(),
      })
      .optional()
      .describe('the dimensions the cost is booked under ("none" where absent)'),
    reserved_micro_usd: count.optional(),
    budget_check: z.string().optional().describe('reserved, none, or skipped (<reason>) when the store was unavailable and fail_mode is open'),
    stopped_at_cap: z.boolean().optional().describe('a stream stopped because it reached the budget'),
    budgets: z.array(BudgetReport).optional(),
    rejected_by_budget: z.string().optional().describe('the budget that refused the request'),
    rejected_unpriced_model: z.string().optional().describe('the model refused because it has no price'),
    answered_by: z.string().optional().describe('the stage that answered before the provider was called (cost $0)'),
  })
  .describe('Added by llm-cost-attribution');

const counts = z.record(z.string(), count);

export const PiiAnnotationSchema = z
  .looseObject({
    decision: z.enum(['allowed', 'rejected', 'scan_failed_open', 'scan_failed_closed']),
    detected: counts.describe('findings per entity type in the request'),
    actions: counts.describe('findings per action taken (block, redact, pseudonymize, log_only)'),
    by_type: z.record(z.string(), counts).describe('findings per entity type and action, e.g. {"email": {"pseudonymize": 2}}'),
    kinds: counts.describe('finer kinds (secret formats, card networks, IP versions)'),
    allowed: count.describe('matches ignored because of the allow-lists'),
    scan_ms: z.number().nonnegative(),
    blocked: z.boolean(),
    failure: z.enum(['timeout', 'error']).optional(),
    failed_open: z.boolean().optional().describe('the scan failed and the request went on (fail_mode open)'),
    restored: count.describe('placeholders put back into the answer'),
    output: z
      .looseObject({ detected: counts, action: z.enum(['redact', 'block']), blocked: z.boolean() })
      .optional()
      .describe('output scanning: the model’s own PII per type, and whether the answer was withheld'),
  })
  .describe('Added by llm-pii-guard: counts only, never the values');

export const LlmProxyAnnotationSchema = z
  .looseObject({
    client_api: z.string().optional().describe('the API the client called when it differs from the one handled (e.g. anthropic-messages)'),
    pass_through: z.boolean().optional().describe('the request went to the provider in its own format, untranslated'),
    logical_model: z.string().optional().describe('the logical model name the client asked for, when it named one'),
    target: z.string().optional().describe('the name of the target that served the request'),
    attempts: z
      .array(
        z.looseObject({
          target: z.string().describe('target name (default <provider>/<model>)'),
          provider: z.string(),
          model: z.string().optional(),
          status: z.number().int().describe('the provider\'s HTTP status, or the gateway\'s for a failure without one (timeout, reset, queue)'),
          latency_ms: z.number().nonnegative(),
          reason: z.string().describe('ok, or the error code of the failure (upstream_timeout, upstream_unreachable, upstream_error, queue_timeout…)'),
          server_address: z.string().optional().describe('host of the provider endpoint called'),
        }),
      )
      .optional()
      .describe('every attempt of the request, in order (retries and fallbacks)'),
  })
  .describe('Added by llm-proxy');

export const CacheAnnotationSchema = z
  .looseObject({
    status: z.enum(['hit', 'miss', 'bypass', 'refresh']),
    kind: z.enum(['exact', 'semantic']).optional().describe('how a hit was found'),
    reason: z
      .enum(['no_store', 'n_above_1', 'temperature', 'tool_turn', 'no_consumer', 'no_messages', 'store_unavailable', 'embed_failed'])
      .optional()
      .describe('why the cache was bypassed (or, embed_failed, why a miss was exact-only)'),
    partition: z.string().optional().describe('hash of the partition (route, model, parameters, context, who shares): kong-llm cache purge --partition'),
    similarity: z.number().optional().describe('cosine similarity of a hit (1 for an exact hit)'),
    age_s: count.optional().describe('age of the served answer in seconds'),
    guard_rejected: z
      .looseObject({ similarity: z.number(), reason: z.string() })
      .optional()
      .describe('the best candidate above the threshold that the prompt guards refused'),
    lookup_ms: z.number().optional(),
    tokens_saved: count.optional().describe('provider tokens the hit did not spend (the original call’s prompt + completion)'),
    prompt_tokens_saved: count.optional(),
    completion_tokens_saved: count.optional(),
    cost_saved_usd: usdString.optional(),
    micro_usd_saved: count.optional(),
    stored: z.boolean().optional().describe('after a miss or refresh: whether the answer was cached'),
    not_stored: z.string().optional().describe('why not: error, tool_call, incomplete_stream, cancelled, content_filter, too_large, request_changed, …'),
  })
  .describe('Added by llm-semantic-cache');

/** The fields the relay sets; each plugin adds its own key (typed by the plugin, so `unknown` here). */
const UsageEventCoreSchema = z.looseObject({
  request_id: z.string().describe('the suite’s id of the request'),
  kong_request_id: z.string().optional().describe('Kong’s X-Kong-Request-Id, to join with Kong’s logs'),
  client_ip: z.string().optional(),
  time: z.iso.datetime().describe('when the request reached the relay (ISO 8601, UTC)'),
  consumer: z.looseObject({ id: z.string(), username: z.string().optional(), custom_id: z.string().optional() }).optional(),
  consumer_groups: z.array(z.string()),
  route: IdName.optional(),
  service: IdName.optional(),
  api: z.string().describe('the API the client called: openai-chat, openai-embeddings, openai-models, anthropic-messages, anthropic-count-tokens, unknown (an OpenAI Responses request is translated and reported as openai-chat, with llm_proxy.client_api openai-responses)'),
  provider: z.string().optional(),
  model: z.string().optional().describe('the model actually called'),
  stream: z.boolean(),
  status: z.number().int().describe('the HTTP status of the answer; 0 if none was sent'),
  usage: Usage.optional(),
  latency_ms: z.number().describe('from the request reaching the relay to the end of the answer'),
  ttft_ms: z.number().optional().describe('time to the first byte of the answer'),
  error_code: z.string().optional(),
  answered_by: z.string().optional().describe('the plugin that answered instead of the provider (a rejection or a cache hit)'),
});

export type UsageEvent = z.infer<typeof UsageEventCoreSchema>;

/** The whole event as published: the relay's fields and what each plugin adds under its key. */
export const UsageEventSchema = UsageEventCoreSchema.extend({
  token_limit: TokenLimitAnnotationSchema.optional(),
  cost: CostAnnotationSchema.optional(),
  pii: PiiAnnotationSchema.optional(),
  llm_proxy: LlmProxyAnnotationSchema.optional(),
  cache: CacheAnnotationSchema.optional(),
}).meta({
  title: 'LLM plugin suite usage event',
  description: 'One record per request the suite handled, including rejections and cache hits. Never contains prompt or answer text.',
});

/** The published JSON Schema (docs/usage-event.schema.json). */
export function usageEventJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(UsageEventSchema, { io: 'output' });
}
