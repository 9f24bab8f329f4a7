import type { PluginDefinition } from '../runtime/plugin-definition';
import { PLUGINS } from '../registry';
import { llmProxyAccess } from './access';
import { llmProxyStage } from './relay-stage';
import { llmProxySchema } from './schema';

/** One OpenAI-compatible API in front of LLM providers. Lowest priority of the suite: it runs last in access. */
export const llmProxy: PluginDefinition<typeof llmProxySchema> = {
  name: 'llm-proxy',
  version: '0.1.0',
  priority: 770,
  configSchema: llmProxySchema,
  access: (kong, config, instance) => llmProxyAccess(kong, llmProxy as { name: 'llm-proxy'; priority: number }, config, instance, () => PLUGINS),
  relayStage: (config) => llmProxyStage(config),
};
