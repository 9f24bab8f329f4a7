import { anthropic } from './anthropic';
import { azure } from './azure';
import { bedrock } from './bedrock';
import { cohere } from './cohere';
import { gemini, vertex } from './gemini';
import { mistral } from './mistral';
import { openAiCompatible, openai } from './openai';
import type { ProviderAdapter } from './types';

/** Adding a provider: one folder under plugins/providers and one line here. */
export const PROVIDERS: Record<string, ProviderAdapter> = {
  openai,
  'openai-compatible': openAiCompatible('openai-compatible', undefined, false),
  anthropic,
  azure,
  mistral,
  cohere,
  gemini,
  vertex,
  bedrock,
};
