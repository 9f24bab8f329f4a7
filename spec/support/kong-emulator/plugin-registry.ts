import {
  pluginsForRequest,
  resolveEnvVaultRefs,
  type DeclarativeConfig,
  type DeclarativePlugin,
} from '../../../plugins/runtime/config/declarative';
import type { BundledPlugin } from './bundled';
import { DEFAULT_WORKSPACE_ID } from './entities';
import type { ExternalPluginInfo, PluginConf } from './instances';
import { configFieldsOf, fillConfigDefaults, type KongField } from './schema-defaults';

/** A plugin Kong loaded: bundled (emulated in TS) or external (served by the plugin server). */
export interface RegisteredPlugin {
  name: string;
  priority: number;
  phases: ReadonlySet<string>;
  external?: ExternalPluginInfo;
  bundled?: BundledPlugin;
}

/** Kong's handler order: higher priority first; equal priorities by name, descending (sort_by_handler_priority). */
export function sortByPriority(plugins: RegisteredPlugin[]): RegisteredPlugin[] {
  return [...plugins].sort((a, b) => b.priority - a.priority || (a.name < b.name ? 1 : a.name > b.name ? -1 : 0));
}

let seqCounter = 0;

/** Plugin configs as the plugins iterator builds them (get_plugin_config), with a fresh `__seq__` per build. */
export class PluginConfigs {
  private readonly confs = new Map<string, PluginConf>();

  constructor(
    private readonly cfg: DeclarativeConfig,
    registry: Map<string, RegisteredPlugin>,
    env: Readonly<Record<string, string | undefined>>,
    keepNulls: boolean,
  ) {
    for (const plugin of cfg.plugins) {
      const registered = registry.get(plugin.name);
      if (!registered) continue;
      const fields: Record<string, KongField>[] = registered.bundled
        ? registered.bundled.schemaFields
        : configFieldsOf(registered.external?.schema);
      const filled = resolveEnvVaultRefs(fillConfigDefaults(fields, plugin.config, keepNulls), env);
      const conf: PluginConf = Object.assign(filled, {
        route_id: plugin.route,
        service_id: plugin.service,
        consumer_id: plugin.consumer,
        plugin_instance_name: plugin.instance_name,
        __plugin_id: plugin.id,
        __ws_id: DEFAULT_WORKSPACE_ID,
        __key__: `plugins:${plugin.name}:${plugin.route ?? ''}:${plugin.service ?? ''}:${plugin.consumer ?? ''}::${DEFAULT_WORKSPACE_ID}`,
        __seq__: ++seqCounter,
      });
      for (const key of ['route_id', 'service_id', 'consumer_id', 'plugin_instance_name']) if (conf[key] === undefined) delete conf[key];
      this.confs.set(plugin.id, conf);
    }
  }

  get(plugin: DeclarativePlugin): PluginConf | undefined {
    return this.confs.get(plugin.id);
  }

  /** The config per plugin name for this route/service/consumer (the combos lookup of the plugins iterator). */
  forRequest(routeId: string | undefined, serviceId: string | undefined, consumerId: string | undefined, groupIds: string[]) {
    const byName = new Map<string, { entity: DeclarativePlugin; conf: PluginConf }>();
    for (const entity of pluginsForRequest(this.cfg, routeId, serviceId, consumerId, groupIds)) {
      const conf = this.confs.get(entity.id);
      if (conf) byName.set(entity.name, { entity, conf });
    }
    return byName;
  }

  /** The global configs (no route, service or consumer): what Kong runs in rewrite and when nothing was collected. */
  globals() {
    return this.forRequest(undefined, undefined, undefined, []);
  }
}

