/**
 * Where Kong applies a plugin instance: the plugins iterator adds `route_id`, `service_id` and `consumer_id` to every
 * config it hands a plugin server (absent when the plugin entity is not scoped to one).
 */
export interface KongScope {
  routeId?: string;
  serviceId?: string;
  consumerId?: string;
}

const text = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);

export function kongScopeOf(rawConfig: unknown): KongScope {
  if (typeof rawConfig !== 'object' || rawConfig === null) return {};
  const c = rawConfig as Record<string, unknown>;
  return { routeId: text(c.route_id), serviceId: text(c.service_id), consumerId: text(c.consumer_id) };
}

/** Whether an instance with `scope` may run on a request to `routeId` (unknown route: it may). */
export function mayRunOnRoute(scope: KongScope, routeId: string | undefined): boolean {
  return scope.routeId === undefined || routeId === undefined || scope.routeId === routeId;
}
