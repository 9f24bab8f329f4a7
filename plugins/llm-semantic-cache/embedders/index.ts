import { z } from 'zod';
import { kongReferenceable, kongSecret } from '../../runtime/config/zod-to-kong';
import { BuiltinEmbedder } from './builtin';
import { OpenAICompatibleEmbedder } from './openai-compatible';
import type { Embedder } from './types';

export type { Embedder } from './types';

export const EMBEDDER_KINDS = ['builtin', 'openai-compatible'] as const;
export type EmbedderKind = (typeof EMBEDDER_KINDS)[number];

/** The embedder settings of llm-semantic-cache: flat fields, so the plugin's schema converts to a Kong record. */
export const embedderConfigSchema = z.object({
  embedder: z
    .enum(EMBEDDER_KINDS)
    .default('builtin')
    .describe('builtin: the offline English model shipped with the plugin server (no set-up); openai-compatible: a POST {embedder_url}/embeddings endpoint (OpenAI, Azure OpenAI, Ollama, vLLM…).'),
  embedder_url: kongReferenceable(z.string().url())
    .optional()
    .describe('Base URL of the OpenAI-compatible embeddings API including the version segment, e.g. https://api.openai.com/v1 or http://127.0.0.1:11434/v1 (Ollama). Required for openai-compatible.'),
  embedder_model: z
    .string()
    .min(1)
    .optional()
    .describe('Embedding model sent to the openai-compatible endpoint, e.g. text-embedding-3-small or nomic-embed-text. Required for openai-compatible.'),
  embedder_api_key: kongSecret(z.string().min(1))
    .optional()
    .describe('API key of the openai-compatible embeddings endpoint. Use a Kong vault reference such as {vault://env/embeddings-key}.'),
  embedder_auth_header: z
    .enum(['authorization', 'api-key'])
    .default('authorization')
    .describe('How the key is sent: authorization (Bearer token: OpenAI, Ollama, most servers) or api-key (Azure OpenAI).'),
  embedder_timeout_ms: z
    .number()
    .int()
    .min(10)
    .max(60_000)
    .default(3_000)
    .describe('Time allowed for one embedding, queueing included, in milliseconds; past it the request is served as a cache miss.'),
});

export type EmbedderConfig = z.infer<typeof embedderConfigSchema>;

export function createEmbedder(config: EmbedderConfig): Embedder {
  switch (config.embedder) {
    case 'builtin':
      return new BuiltinEmbedder(config.embedder_timeout_ms);
    case 'openai-compatible': {
      if (!config.embedder_url) throw new Error('embedder_url is required when embedder is openai-compatible');
      if (!config.embedder_model) throw new Error('embedder_model is required when embedder is openai-compatible');
      return new OpenAICompatibleEmbedder({
        baseUrl: config.embedder_url,
        model: config.embedder_model,
        apiKey: config.embedder_api_key,
        authHeader: config.embedder_auth_header,
        timeoutMs: config.embedder_timeout_ms,
      });
    }
  }
}
