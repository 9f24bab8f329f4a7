import { createStore } from '../../plugins/runtime/store';
import { MemoryStore } from '../../plugins/runtime/store/memory';
import type { Store } from '../../plugins/runtime/store/types';
import { startRedisServer, type RedisServer } from '../support/redis-server';
import { recordingStore, startHarness, untilReady } from './harness';

const CLIENTS = 64;
const LIMIT = 600;

/**
 * 64 clients at once against one limit: the reservations are atomic, so admitted requests can never add up to more
 * than the limit, and every rejected request stays away from the provider.
 */
describe.each([
  ['memory', async () => ({ store: new MemoryStore() as Store, stop: async () => undefined })],
  [
    'redis',
    async () => {
      const redis: RedisServer = await startRedisServer();
      const store = createStore({ type: 'redis', url: redis.url, keyPrefix: 'tl-conc:' });
      await untilReady(store);
      return { store, stop: () => redis.stop() };
    },
  ],
])('%s store: 64 concurrent clients against one limit', (_name, makeStore) => {
  it('never settles more than the limit; rejected requests reach no upstream', async () => {
    const { store: inner, stop } = await makeStore();
    const store = recordingStore(inner);
    // completion 8 words = max_tokens 8: each request's actual usage is close to its reservation
    const h = await startHarness({ store });
    try {
      const config = { limits: [{ name: 'shared', limit: LIMIT, window: 'hour' }] };
      const body = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello there' }], max_tokens: 8 };
      const results = await Promise.all(Array.from({ length: CLIENTS }, () => h.chat({ limitConfig: config, body })));
      await h.completed(CLIENTS);
      const ok = results.filter((r) => r.status === 200);
      const rejected = results.filter((r) => r.status === 429);
      expect(ok.length + rejected.length).toBe(CLIENTS);
      expect(ok.length).toBeGreaterThan(0);
      expect(rejected.length).toBeGreaterThan(0);
      expect(h.mock.requests).toHaveLength(ok.length);
      const settled = (await store.totals([...store.keys])).reduce((a, b) => a + b, 0);
      const used = ok.reduce((sum, r) => sum + (r.json.usage.total_tokens as number), 0);
      expect(settled).toBe(used);
      expect(settled).toBeLessThanOrEqual(LIMIT);
    } finally {
      await h.close();
      await store.close();
      await stop();
    }
  });
});
