import { anthropic } from './anthropic';
import { openAiCompatible, openai } from './openai';
import type { ProviderAdapter } from './types';

/** Adding a provider: one folder under plugins/providers and one line here. */
export const PROVIDERS: Record<string, ProviderAdapter> = {
  openai,
  'openai-compatible': openAiCompatible('openai-compatible', undefined, false),
  anthropic,
};
