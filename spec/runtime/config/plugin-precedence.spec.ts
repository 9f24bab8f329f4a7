import type { DeclarativePlugin } from '../../../plugins/runtime/config/declarative';
import { pluginsForRequest } from '../../../plugins/runtime/config/declarative';

type Scope = Pick<DeclarativePlugin, 'route' | 'service' | 'consumer' | 'consumer_group'>;

const R = 'route-1';
const S = 'service-1';
const C = 'consumer-1';
const G = 'group-1';

/** Kong 3.4+ order, most specific first. */
const KONG_ORDER: [string, Scope][] = [
  ['consumer+route+service', { consumer: C, route: R, service: S }],
  ['group+route+service', { consumer_group: G, route: R, service: S }],
  ['consumer+route', { consumer: C, route: R }],
  ['consumer+service', { consumer: C, service: S }],
  ['group+route', { consumer_group: G, route: R }],
  ['group+service', { consumer_group: G, service: S }],
  ['route+service', { route: R, service: S }],
  ['consumer', { consumer: C }],
  ['group', { consumer_group: G }],
  ['route', { route: R }],
  ['service', { service: S }],
  ['global', {}],
];

const plugin = (name: string, location: string, scope: Scope, enabled = true): DeclarativePlugin => ({
  id: location,
  name,
  enabled,
  config: {},
  location,
  ...scope,
});

describe('pluginsForRequest', () => {
  it('picks, per plugin name, the most specific scope in Kong\'s order', () => {
    let plugins = KONG_ORDER.map(([label, scope]) => plugin('x', label, scope)).reverse();
    for (const [label] of KONG_ORDER) {
      const chosen = pluginsForRequest({ plugins }, R, S, C, [G]);
      expect(chosen.map((p) => p.location)).toEqual([label]);
      plugins = plugins.filter((p) => p.location !== label);
    }
    expect(pluginsForRequest({ plugins }, R, S, C, [G])).toEqual([]);
  });

  it('ignores disabled configs, so a less specific enabled one applies', () => {
    const plugins = [plugin('x', 'route', { route: R }, false), plugin('x', 'service', { service: S })];
    expect(pluginsForRequest({ plugins }, R, S, undefined, []).map((p) => p.location)).toEqual(['service']);
  });

  it('returns one config per plugin name, only for the request\'s own entities', () => {
    const plugins = [
      plugin('a', 'a-global', {}),
      plugin('b', 'b-other-route', { route: 'route-2' }),
      plugin('b', 'b-other-consumer', { consumer: 'consumer-2' }),
      plugin('c', 'c-route', { route: R }),
      plugin('c', 'c-anonymous-consumer', { consumer: C }),
    ];
    const anonymous = pluginsForRequest({ plugins }, R, S, undefined, []);
    expect(anonymous.map((p) => p.location).sort()).toEqual(['a-global', 'c-route']);
    const asConsumer = pluginsForRequest({ plugins }, R, S, C, []);
    expect(asConsumer.map((p) => p.location).sort()).toEqual(['a-global', 'c-anonymous-consumer']);
  });

  it('prefers the consumer\'s earlier group at the same level', () => {
    const plugins = [plugin('x', 'silver', { consumer_group: 'silver' }), plugin('x', 'gold', { consumer_group: 'gold' })];
    expect(pluginsForRequest({ plugins }, R, S, C, ['gold', 'silver']).map((p) => p.location)).toEqual(['gold']);
    expect(pluginsForRequest({ plugins }, R, S, C, ['silver', 'gold']).map((p) => p.location)).toEqual(['silver']);
  });
});
