import { closeRedisIndexClients, RedisCacheIndex, redisIndexClient, whenConnected } from '../../plugins/llm-semantic-cache/redis-index';
import { normalizeInPlace } from '../../plugins/llm-semantic-cache/embedders/vector';
import type { LookupCost } from '../../plugins/llm-semantic-cache/vector-index';
import { startRedisServer, type RedisServer } from '../support/redis-server';
import { fillIndex, randomUnitVector, seededRandom } from '../support/semantic-cache-fill';

/**
 * Lookups on plain Redis stay flat as the cache grows: the same commands and at most max_candidates vectors per
 * lookup at 1k and at 100k entries in one partition (counted, not timed: times are in bench/llm-semantic-cache.ts).
 * Two LSH tables of 6 bits keep the 100k writes short on this machine; bucket reads are bounded the same way with
 * the defaults (8 × 10).
 */
describe('Redis cache index at scale', () => {
  let redis: RedisServer;
  let index: RedisCacheIndex;
  const random = seededRandom(7);
  const dims = 16;
  const maxCandidates = 64;

  beforeAll(async () => {
    redis = await startRedisServer();
    const client = redisIndexClient({ type: 'redis', url: redis.url, keyPrefix: 'scale:', commandTimeoutMs: 30_000 });
    await whenConnected(client);
    index = new RedisCacheIndex(client, 'scale:', { lshTables: 2, lshBits: 6, maxCandidates, vectorSearch: 'lsh' });
    await fillIndex(index, 'small', 1_000, dims, seededRandom(1));
    await fillIndex(index, 'large', 100_000, dims, seededRandom(2));
  }, 120_000);
  afterAll(async () => {
    await closeRedisIndexClients();
    await redis.stop();
  });

  it('costs the same number of commands and at most max_candidates vectors per lookup at 1k and at 100k entries', async () => {
    const costs = { small: [] as LookupCost[], large: [] as LookupCost[] };
    for (let i = 0; i < 50; i++) {
      const q = randomUnitVector(dims, random);
      for (const p of ['small', 'large'] as const) {
        const cost: LookupCost = { commands: 0, candidates: 0 };
        await index.search(p, q, 0.9999, 3, cost);
        costs[p].push(cost);
      }
    }
    // one read per LSH table + one MGET of the candidates' vectors (no candidate reached 0.9999: no answer fetched)
    expect(new Set(costs.small.map((c) => c.commands))).toEqual(new Set([3]));
    expect(new Set(costs.large.map((c) => c.commands))).toEqual(new Set([3]));
    const most = (p: 'small' | 'large') => Math.max(...costs[p].map((c) => c.candidates));
    expect(most('small')).toBeLessThanOrEqual(maxCandidates);
    expect(most('large')).toBeLessThanOrEqual(maxCandidates);
    expect(most('large')).toBeGreaterThan(most('small') / 2); // the large partition's buckets are full, not empty
  });

  it('still finds a near-duplicate of a fresh answer among 100k', async () => {
    const target = randomUnitVector(dims, random);
    const completion = { choices: [{ index: 0, message: { role: 'assistant', content: 'needle' }, finish_reason: 'stop' }] };
    await index.put({ partition: 'large', exactKey: 'needle', prompt: 'needle', completion, usage: { promptTokens: 1, completionTokens: 1 }, createdAt: Date.now() }, target, 600_000);
    const query = normalizeInPlace(Float32Array.from(target, (x) => x + (random() - 0.5) * 0.02));
    const found = await index.search('large', query, 0.95, 1);
    expect(found[0]?.answer.exactKey).toBe('needle');
  });
});
