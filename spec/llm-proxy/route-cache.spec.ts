import { RouteCache } from '../../plugins/llm-proxy/route-cache';

describe('llm-proxy route cache', () => {
  const route = { id: 'r1', name: 'chat', service: { id: 's1' } };

  it('answers for the instance and route it was filled for, until its time is up', () => {
    const cache = new RouteCache(1_000);
    cache.remember(7, 'r1', route, 0);
    expect(cache.get(7, 'r1', 999)).toEqual(route);
    expect(cache.get(7, 'r1', 1_000)).toBeUndefined(); // expired: Kong is asked again (a renamed route shows up)
    expect(cache.get(8, 'r1', 10)).toBeUndefined(); // another instance
    expect(cache.get(7, 'r2', 10)).toBeUndefined(); // an instance is never asked about another route
  });

  it('remembers nothing for an instance without a route scope, or when Kong matched another route', () => {
    const cache = new RouteCache();
    cache.remember(1, undefined, route, 0);
    cache.remember(2, 'r2', route, 0); // scoped to r2, but Kong says r1: not trusted
    cache.remember(3, 'r1', null, 0);
    expect(cache.get(1, undefined, 1)).toBeUndefined();
    expect(cache.get(2, 'r2', 1)).toBeUndefined();
    expect(cache.get(3, 'r1', 1)).toBeUndefined();
  });
});
