import { z } from 'zod';
import { providerOptionsSchema } from '../providers/options';
import { PROVIDERS as ADAPTERS } from '../providers/registry';

const secret = { kong: { referenceable: true, encrypted: true } };
const referenceable = { kong: { referenceable: true } };

export const PROVIDERS = Object.keys(ADAPTERS) as [string, ...string[]];

export const llmProxySchema = z
  .object({
    provider: z
      .enum(PROVIDERS)
      .default('openai')
      .describe('Upstream provider API: openai; openai-compatible for Ollama, vLLM, llama.cpp and similar servers (needs base_url); anthropic (Messages API).'),
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
    auth: z
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
      .describe('How the gateway authenticates to the provider. The client\'s own credentials are never forwarded upstream.'),
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
  })
  .superRefine((config, ctx) => {
    if (config.provider === 'openai-compatible' && !config.base_url) {
      ctx.addIssue({ code: 'custom', path: ['base_url'], message: 'base_url is required when provider is openai-compatible' });
    }
  });

export type LlmProxyConfig = z.infer<typeof llmProxySchema>;
