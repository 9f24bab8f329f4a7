import type { DeclarativeConfig, DeclarativePlugin } from './declarative';

type Scope = Pick<DeclarativePlugin, 'route' | 'service' | 'consumer' | 'consumer_group'>;

/**
 * The scopes Kong tries for a plugin name, most specific first (Kong 3.4+ plugins iterator `lookup_cfg`):
 * consumer+route+service, group+route+service, consumer+route, consumer+service, group+route, group+service,
 * route+service, consumer, group, route, service, global.
 */
function candidateScopes(route?: string, service?: string, consumer?: string, groups: readonly string[] = []): Scope[] {
  const withGroups = (make: (group: string) => Scope | undefined) => groups.map(make).filter((s): s is Scope => !!s);
  const scopes: (Scope | undefined | Scope[])[] = [
    route && service && consumer ? { route, service, consumer } : undefined,
    withGroups((group) => (route && service ? { route, service, consumer_group: group } : undefined)),
    route && consumer ? { route, consumer } : undefined,
    service && consumer ? { service, consumer } : undefined,
    withGroups((group) => (route ? { route, consumer_group: group } : undefined)),
    withGroups((group) => (service ? { service, consumer_group: group } : undefined)),
    route && service ? { route, service } : undefined,
    consumer ? { consumer } : undefined,
    withGroups((consumer_group) => ({ consumer_group })),
    route ? { route } : undefined,
    service ? { service } : undefined,
    {},
  ];
  return scopes.flat().filter((scope): scope is Scope => scope !== undefined);
}

function matches(plugin: DeclarativePlugin, scope: Scope): boolean {
  return (
    plugin.route === scope.route &&
    plugin.service === scope.service &&
    plugin.consumer === scope.consumer &&
    plugin.consumer_group === scope.consumer_group
  );
}

/**
 * The plugin configs Kong runs for a request: per plugin name, the enabled config of the most specific matching
 * scope. With several consumer groups, earlier groups win at the same level. Unordered: callers sort by priority.
 */
export function pluginsForRequest(
  cfg: Pick<DeclarativeConfig, 'plugins'>,
  routeId: string | undefined,
  serviceId: string | undefined,
  consumerId: string | undefined,
  groupIds: readonly string[],
): DeclarativePlugin[] {
  const scopes = candidateScopes(routeId, serviceId, consumerId, groupIds);
  const byName = new Map<string, DeclarativePlugin[]>();
  for (const plugin of cfg.plugins) {
    if (!plugin.enabled) continue;
    byName.set(plugin.name, [...(byName.get(plugin.name) ?? []), plugin]);
  }
  const chosen: DeclarativePlugin[] = [];
  for (const configs of byName.values()) {
    for (const scope of scopes) {
      const found = configs.find((plugin) => matches(plugin, scope));
      if (found) {
        chosen.push(found);
        break;
      }
    }
  }
  return chosen;
}
