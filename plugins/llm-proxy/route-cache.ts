import type { KongEntity } from '../runtime/pdk';

/**
 * The route of a route-scoped llm-proxy instance, remembered for a minute: Kong's config names the route id of such
 * an instance, so every request on it has the same route and `kong.router.get_route` (a PDK round trip) is needed
 * only now and then, to pick up a renamed route. Instances scoped otherwise (service, global) look it up each time.
 */
export class RouteCache {
  private readonly entries = new Map<number, { route: KongEntity; until: number }>();

  constructor(private readonly ttlMs = 60_000) {}

  get(instanceId: number, routeId: string | undefined, now = Date.now()): KongEntity | undefined {
    if (!routeId) return undefined;
    const entry = this.entries.get(instanceId);
    return entry && entry.until > now && entry.route.id === routeId ? entry.route : undefined;
  }

  remember(instanceId: number, routeId: string | undefined, route: KongEntity | null | undefined, now = Date.now()): void {
    if (!routeId || !route || route.id !== routeId) return;
    if (this.entries.size >= 10_000) this.sweep(now);
    this.entries.set(instanceId, { route, until: now + this.ttlMs });
  }

  private sweep(now: number): void {
    for (const [id, e] of this.entries) if (e.until <= now) this.entries.delete(id);
    if (this.entries.size >= 10_000) this.entries.clear(); // instances Kong has replaced: start over
  }
}
