import { z } from 'zod';
import { relayPlugin } from '../runtime/registration-plugin';

/**
 * Exact and semantic response cache.
 * Foundation stage: the plugin is served, configured per route and registered in each request's context;
 * its behaviour lands with its own issue.
 */
export const configSchema = z.object({}).strict();

export const llmSemanticCache = relayPlugin({
  name: 'llm-semantic-cache',
  version: '0.1.0',
  priority: 773,
  configSchema,
});
