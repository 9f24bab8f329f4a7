import { llmCostAttribution } from './llm-cost-attribution';
import { llmPiiGuard } from './llm-pii-guard';
import { llmProxy } from './llm-proxy';
import { llmSemanticCache } from './llm-semantic-cache';
import { llmTokenLimit } from './llm-token-limit';
import type { PluginDefinition } from './runtime/plugin-definition';

/** The five plugins, in Kong's execution order (priority, highest first). */
export const PLUGINS: PluginDefinition[] = [llmPiiGuard, llmSemanticCache, llmTokenLimit, llmCostAttribution, llmProxy];
