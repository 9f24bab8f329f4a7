/**
 * Where Kong applies a plugin instance: the plugins iterator adds `route_id` (and `service_id`, `consumer_id`) to
 * every config it hands a plugin server, absent when the plugin entity is not scoped to one. Only the route is used.
 */
export interface KongScope {
  routeId?: string;
}

const text = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);

export function kongScopeOf(rawConfig: unknown): KongScope {
  if (typeof rawConfig !== 'object' || rawConfig === null) return {};
  const c = rawConfig as Record<string, unknown>;
  return { routeId: text(c.route_id) };
}

/** Whether an instance with `scope` may run on a request to `routeId` (unknown route: it may). */
export function mayRunOnRoute(scope: KongScope, routeId: string | undefined): boolean {
  return scope.routeId === undefined || routeId === undefined || scope.routeId === routeId;
}
