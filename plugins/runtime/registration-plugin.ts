import { z } from 'zod';
import { joinRequestContext } from './kong-glue';
import type { PluginDefinition, PluginName } from './plugin-definition';

/**
 * A plugin whose Kong-side work is only to register its configuration in the request context (2 RPCs:
 * HandleEvent + ctx.shared.get). Its real work happens in the relay, through `relayStage`.
 */
export function relayPlugin<S extends z.ZodType>(
  spec: Omit<PluginDefinition<S>, 'access'> & { name: Exclude<PluginName, 'llm-proxy'> },
): PluginDefinition<S> {
  const definition: PluginDefinition<S> = {
    ...spec,
    access: async (kong, config) => {
      await joinRequestContext(kong, definition, config);
    },
  };
  return definition;
}
