import { z } from 'zod';
import { providerOptionsSchema } from '../providers/options';
import { PROVIDERS as PROVIDER_ADAPTERS } from '../providers/registry';
import { authSchema, circuitBreakerSchema, logicalModelSchema, providerField, queueSchema, retriesSchema, totalTimeoutField } from './routing/schema';

const referenceable = { kong: { referenceable: true } };

export { PROVIDERS } from './routing/schema';

export const llmProxySchema = z
  .object({
    provider: providerField.default('openai'),
    base_url: z
      .string()
      .url()
      .optional()
      .describe('Base URL of the provider API including the version segment, e.g. https://api.openai.com/v1. Defaults to the provider\'s public endpoint.')
      .meta(referenceable),
    model: z
      .string()
      .min(1)
      .optional()
      .describe('Model sent upstream in place of the one the client names. Unset: the client\'s model is passed through.'),
    anthropic_version: z
      .string()
      .regex(/^\d{4}-\d{2}-\d{2}$/)
      .default('2023-06-01')
      .describe('anthropic-version header sent to an anthropic provider (a client passing its own Anthropic requests through keeps its version).'),
    options: providerOptionsSchema.prefault({}).describe('Provider-specific settings (Azure, Bedrock, Vertex AI).'),
    auth: authSchema,
    timeouts: z
      .object({
        connect_ms: z.number().int().min(1).max(600_000).default(10_000).describe('Time allowed to connect to the provider, in milliseconds.'),
        first_byte_ms: z
          .number()
          .int()
          .min(1)
          .max(3_600_000)
          .default(120_000)
          .describe('Time allowed until the provider sends response headers, in milliseconds.'),
        idle_ms: z
          .number()
          .int()
          .min(1)
          .max(3_600_000)
          .default(120_000)
          .describe('Longest silence allowed between two pieces of the provider\'s answer, in milliseconds.'),
        total_ms: totalTimeoutField,
      })
      .prefault({})
      .describe('Timeouts of the upstream call; long generations are allowed, stuck ones are cut.'),
    max_request_body_bytes: z
      .number()
      .int()
      .min(1024)
      .max(104_857_600)
      .default(10_485_760)
      .describe('Largest request body accepted, in bytes; larger requests get 413 in the client\'s error format.'),
    anonymous_consumer: z
      .string()
      .min(1)
      .optional()
      .describe('Username or id of the consumer that key-auth\'s anonymous option falls back to: such requests get a 401 in the client\'s API format (OpenAI or Anthropic), which SDKs parse.'),
    consumer_groups: z
      .boolean()
      .default(false)
      .describe('Kong Enterprise: read the consumer\'s groups (teams) for limits, budgets and attribution. Kong OSS has no consumer groups: leave off.'),
    response_headers: z
      .boolean()
      .default(true)
      .describe('Add X-LLM-* headers (provider, model, token usage) to answers so that Kong logging plugins record them.'),
    models: z
      .array(logicalModelSchema)
      .default([])
      .describe('Logical model names clients may use, each served by its own targets. Empty: the top-level provider serves every model.'),
    allow_unknown_models: z
      .boolean()
      .default(false)
      .describe('With models set: a model that is not a logical name goes to the top-level provider instead of answering 404.'),
    retries: retriesSchema,
    circuit_breaker: circuitBreakerSchema,
    queue: queueSchema,
  })
  .superRefine((config, ctx) => {
    if (needsBaseUrl(config.provider) && !config.base_url) {
      ctx.addIssue({ code: 'custom', path: ['base_url'], message: `base_url is required when provider is ${config.provider}` });
    }
    const names = new Set<string>();
    config.models.forEach((model, m) => {
      if (names.has(model.name)) ctx.addIssue({ code: 'custom', path: ['models', m, 'name'], message: `logical model ${model.name} is defined twice` });
      names.add(model.name);
      const targetNames = new Set<string>();
      model.targets.forEach((target, t) => {
        if (needsBaseUrl(target.provider) && !target.base_url) {
          ctx.addIssue({ code: 'custom', path: ['models', m, 'targets', t, 'base_url'], message: `base_url is required when provider is ${target.provider}` });
        }
        const name = target.name ?? `${target.provider}/${target.model ?? '*'}`;
        if (targetNames.has(name)) ctx.addIssue({ code: 'custom', path: ['models', m, 'targets', t, 'name'], message: `target name ${name} is used twice; give the targets distinct names` });
        targetNames.add(name);
      });
      model.rules.forEach((rule, r) => {
        for (const name of rule.targets) {
          if (!targetNames.has(name)) ctx.addIssue({ code: 'custom', path: ['models', m, 'rules', r, 'targets'], message: `rule names target ${name}, which ${model.name} does not have` });
        }
      });
    });
  });

export type LlmProxyConfig = z.infer<typeof llmProxySchema>;

/** Providers without a public endpoint of their own (an OpenAI-compatible server, an Azure resource). */
function needsBaseUrl(provider: string): boolean {
  return PROVIDER_ADAPTERS[provider]?.defaultBaseUrl === undefined;
}
