import { CTX_SHARED_KEY, type RequestContext } from './context';
import type { Pdk } from './pdk';
import type { PluginName } from './plugin-definition';
import { suiteRuntime } from './suite-runtime';

/**
 * The access-phase work every plugin shares: find this request's context through kong.ctx.shared (one PDK
 * call; the first of our plugins creates it with a second) and register the plugin's configuration in it.
 * The last of ours (llm-proxy) never publishes a new context: no plugin of ours runs after it; and it skips the
 * lookup when it knows that no other plugin of ours can have run on the request (`alone`).
 */
export async function joinRequestContext(
  kong: Pdk,
  plugin: { name: PluginName; priority: number },
  config: unknown,
  opts: { last?: boolean; alone?: boolean } = {},
): Promise<RequestContext> {
  const { contexts } = suiteRuntime();
  let ctx = opts.alone ? undefined : contexts.get(await kong.ctxShared.get(CTX_SHARED_KEY));
  if (!ctx) {
    ctx = contexts.create();
    if (!opts.last) await kong.ctxShared.set(CTX_SHARED_KEY, ctx.id);
  }
  ctx.plugins.push({ name: plugin.name, priority: plugin.priority, config });
  return ctx;
}
