import { latencyOf } from './latency';
import type { Route, RouteTarget } from './targets';

export interface PickContext {
  stream: boolean;
  random: () => number;
}

/** Picks one of `targets` with probability proportional to its weight (all weights 0: the first). */
function weightedIndex(targets: RouteTarget[], random: () => number): number {
  let total = 0;
  for (const t of targets) total += t.weight;
  if (total <= 0) return 0;
  let r = random() * total;
  for (let i = 0; i < targets.length; i++) {
    r -= targets[i].weight;
    if (r < 0) return i;
  }
  return targets.length - 1;
}

/** The first choice moved to the front; the others keep their configured order as its fallbacks. */
function withFirst(targets: RouteTarget[], index: number): RouteTarget[] {
  if (index === 0) return targets;
  return [targets[index], ...targets.slice(0, index), ...targets.slice(index + 1)];
}

function byKey(targets: RouteTarget[], key: (t: RouteTarget) => number): RouteTarget[] {
  // stable: equal keys keep the configured order
  return targets
    .map((t, i) => [t, key(t), i] as const)
    .sort((a, b) => a[1] - b[1] || a[2] - b[2])
    .map(([t]) => t);
}

/**
 * The order in which a request tries `targets` under the route's strategy: the strategy's choice first, then the
 * fallbacks. Availability (breaker, queue) is checked later, on this order.
 */
export function orderTargets(route: Route, targets: RouteTarget[], ctx: PickContext): RouteTarget[] {
  if (targets.length <= 1) return targets;
  switch (route.strategy) {
    case 'priority':
      return targets;
    case 'weighted':
      return withFirst(targets, weightedIndex(targets, ctx.random));
    case 'least_busy':
      return byKey(targets, (t) => t.queue.inFlight + t.queue.queued);
    case 'cost':
      return byKey(targets, (t) => t.price ?? Number.POSITIVE_INFINITY);
    case 'latency': {
      if (ctx.random() < route.exploration) return withFirst(targets, Math.floor(ctx.random() * targets.length));
      // a target never measured sorts first, so that it gets measured
      return byKey(targets, (t) => latencyOf(t.key, ctx.stream) ?? -1);
    }
  }
}
