import { z } from 'zod';
import { providerOptionsSchema } from '../../providers/options';
import { PROVIDERS as ADAPTERS } from '../../providers/registry';
import { storePolicyFields } from '../../runtime/store/plugin-store';

const secret = { kong: { referenceable: true, encrypted: true } };
const referenceable = { kong: { referenceable: true } };

export const PROVIDERS = Object.keys(ADAPTERS) as [string, ...string[]];
export const PRIORITIES = ['high', 'normal', 'low'] as const;
export type Priority = (typeof PRIORITIES)[number];

export const providerField = z
  .enum(PROVIDERS)
  .describe(
    'Upstream provider API: openai; openai-compatible for Ollama, vLLM, llama.cpp, Groq, Together, DeepSeek, OpenRouter and similar servers (needs base_url); anthropic (Messages API); azure (Azure OpenAI, needs base_url); gemini (Google AI Studio); vertex (Gemini on Vertex AI, needs options.vertex.project); bedrock (AWS Bedrock Converse); mistral; cohere (v2 chat). See docs/providers.md.',
  );

export const authSchema = z
  .object({
    api_key: z
      .string()
      .min(1)
      .optional()
      .describe('Provider API key sent upstream. Use a Kong vault reference such as {vault://env/openai-api-key}; clients never send it.')
      .meta(secret),
    api_key_env: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/)
      .optional()
      .describe('Name of an environment variable of the plugin-server process holding the provider API key (used when api_key is unset).'),
  })
  .prefault({})
  .describe('How the gateway authenticates to the provider. The client\'s own credentials are never forwarded upstream.');

const totalMs = z
  .number()
  .int()
  .min(1)
  .max(86_400_000)
  .optional()
  .describe('Longest time one attempt may take from sending the request to the last byte of the answer, in milliseconds. Unset: no limit.');

const inFlightCap = z.number().int().min(1).max(100_000).optional();

/** A target's own timeouts: each unset one is taken from llm-proxy's top-level timeouts. */
const targetTimeoutsSchema = z
  .object({
    connect_ms: z.number().int().min(1).max(600_000).optional().describe('Time allowed to connect, in milliseconds.'),
    first_byte_ms: z.number().int().min(1).max(3_600_000).optional().describe('Time allowed until response headers, in milliseconds.'),
    idle_ms: z.number().int().min(1).max(3_600_000).optional().describe('Longest silence between two pieces of the answer, in milliseconds.'),
    total_ms: totalMs,
  })
  .prefault({})
  .describe('Timeouts of calls to this target; unset ones come from the top-level timeouts.');

export const routeTargetSchema = z.object({
  name: z
    .string()
    .min(1)
    .optional()
    .describe('Name of the target in rules, headers, metrics and usage events. Default: <provider>/<model>.'),
  provider: providerField,
  base_url: z.string().url().optional().describe('Base URL of the provider API. Defaults to the provider\'s public endpoint.').meta(referenceable),
  model: z.string().min(1).optional().describe('Model sent to this provider. Unset: the client\'s model is passed through.'),
  options: providerOptionsSchema.prefault({}).describe('Provider-specific settings (Azure, Bedrock, Vertex AI).'),
  auth: authSchema,
  weight: z.number().int().min(0).max(1_000_000).default(1).describe('Share of traffic under the weighted strategy (0 = only as a fallback).'),
  timeouts: targetTimeoutsSchema,
  max_in_flight: inFlightCap.describe('Most requests sent to this target at once; more wait in the queue. Unset: queue.max_in_flight.'),
  prices: z
    .object({
      input_per_1m: z.number().min(0).describe('USD per million prompt tokens.'),
      output_per_1m: z.number().min(0).describe('USD per million completion tokens.'),
    })
    .optional()
    .describe('Prices for the cost strategy; unset: the price catalog of llm-cost-attribution.'),
});
export type RouteTargetConfig = z.infer<typeof routeTargetSchema>;

/** A rule's conditions are all optional and must all hold; its targets are names of the logical model's targets. */
export const routingRuleSchema = z.object({
  header: z.string().min(1).optional().describe('Request header the rule looks at (e.g. x-task).'),
  equals: z.string().optional().describe('Value the header must have; unset: the header must be present.'),
  prompt_tokens_over: z.number().int().min(0).optional().describe('Holds when the estimated prompt is longer than this many tokens.'),
  has_tools: z.boolean().optional().describe('Holds when the request defines tools (true) or defines none (false).'),
  has_images: z.boolean().optional().describe('Holds when a message carries an image (true) or none does (false).'),
  targets: z.array(z.string().min(1)).min(1).describe('Names of the targets used when the rule holds, in order.'),
});
export type RoutingRule = z.infer<typeof routingRuleSchema>;

export const STRATEGIES = ['priority', 'weighted', 'latency', 'least_busy', 'cost'] as const;
export type Strategy = (typeof STRATEGIES)[number];

export const logicalModelSchema = z.object({
  name: z.string().min(1).describe('The model name clients send (e.g. primary-summarization).'),
  strategy: z
    .enum(STRATEGIES)
    .default('priority')
    .describe('How the target is picked: priority (first healthy in order; the rest are the fallback chain), weighted, latency (lowest EWMA), least_busy (fewest in flight) or cost (cheapest).'),
  targets: z.array(routeTargetSchema).min(1).describe('Provider + model targets serving this name; the others are the fallbacks of the one picked.'),
  rules: z.array(routingRuleSchema).default([]).describe('First rule that holds picks the target list; none holds: all targets.'),
  allowed_groups: z
    .array(z.string().min(1))
    .optional()
    .describe('Consumer groups allowed to use this name (needs consumer_groups). Unset: everyone.'),
  exploration: z
    .number()
    .min(0)
    .max(1)
    .default(0.05)
    .describe('latency strategy: share of requests sent to a random target so that every target\'s latency stays known.'),
  latency_alpha: z
    .number()
    .gt(0)
    .max(1)
    .default(0.3)
    .describe('latency strategy: weight of the newest measure in the moving average (higher reacts faster).'),
});
export type LogicalModelConfig = z.infer<typeof logicalModelSchema>;

export const retriesSchema = z
  .object({
    max_attempts: z
      .number()
      .int()
      .min(1)
      .max(20)
      .optional()
      .describe('Most attempts per request, over all targets. Unset: each target of the route once.'),
    budget_ms: z.number().int().min(0).max(3_600_000).default(30_000).describe('No new attempt starts after this many milliseconds.'),
    base_backoff_ms: z.number().int().min(0).max(60_000).default(100).describe('First backoff before retrying; doubled each time, with full jitter.'),
    max_backoff_ms: z.number().int().min(0).max(600_000).default(5_000).describe('Longest backoff, Retry-After included.'),
  })
  .prefault({})
  .describe('Retries of retryable failures (connect errors, timeouts, 408, 409, 429, 5xx, overloaded), never of 400/401/403/404.');

export const circuitBreakerSchema = z
  .object({
    enabled: z.boolean().default(true).describe('Stop sending traffic to a failing target for a while.'),
    failure_threshold: z.number().int().min(1).max(1000).default(5).describe('Consecutive failures that open the breaker.'),
    error_rate: z.number().gt(0).max(1).default(0.5).describe('Share of failed requests over the window that opens the breaker.'),
    window_s: z.number().int().min(1).max(3600).default(30).describe('Window of the error rate, in seconds.'),
    min_requests: z.number().int().min(1).max(100_000).default(20).describe('Fewest requests in the window before the error rate counts.'),
    open_s: z.number().min(0.01).max(3600).default(30).describe('Seconds an open breaker refuses traffic before probing.'),
    half_open_probes: z.number().int().min(1).max(100).default(1).describe('Requests let through at once to probe a half-open target.'),
    shared_via_store: z.boolean().default(false).describe('Share open breakers with other Kong nodes through Redis (policy redis settings below).'),
    redis: storePolicyFields.redis,
  })
  .prefault({})
  .describe('Circuit breaker per target, shared by all Kong workers of a node (one plugin server).');

export const queueSchema = z
  .object({
    max_in_flight: inFlightCap.describe('Default cap on requests in flight per target (a target\'s max_in_flight wins). Unset: no cap.'),
    max_queue: z.number().int().min(0).max(100_000).default(100).describe('Most requests waiting per target; more get 503 at once.'),
    queue_timeout_ms: z.number().int().min(1).max(600_000).default(10_000).describe('Longest wait in the queue; then 503 with Retry-After.'),
    priority_header: z
      .string()
      .min(1)
      .optional()
      .describe('Request header carrying the priority class (high, normal, low). Unset: headers cannot set priority.'),
    group_priorities: z
      .record(z.string(), z.enum(PRIORITIES))
      .default({})
      .describe('Priority class per consumer group (the highest of the caller\'s groups applies; it wins over the header).'),
  })
  .prefault({})
  .describe('Concurrency caps per target and the priority queue in front of them.');

export type RetriesConfig = z.infer<typeof retriesSchema>;
export type CircuitBreakerConfig = z.infer<typeof circuitBreakerSchema>;
export type QueueConfig = z.infer<typeof queueSchema>;

export { totalMs as totalTimeoutField };
