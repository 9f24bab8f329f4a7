import { execFile, execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { closeRedisIndexClients, RedisCacheIndex, redisIndexClient, whenConnected } from '../../plugins/llm-semantic-cache/redis-index';
import { normalizeInPlace } from '../../plugins/llm-semantic-cache/embedders/vector';
import type { CachedAnswer, LookupCost } from '../../plugins/llm-semantic-cache/vector-index';
import { startRedisServer, type RedisServer } from '../support/redis-server';
import { fillIndex, randomUnitVector, seededRandom } from '../support/semantic-cache-fill';

const execFileAsync = promisify(execFile);
const CLI = join(__dirname, '../../dist/plugins/runtime/cli/main.js');

const answer = (partition: string, exactKey: string, text = 'cached'): CachedAnswer => ({
  partition,
  exactKey,
  prompt: `prompt ${exactKey}`,
  completion: { model: 'gpt-4o-mini', choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' }] },
  model: 'gpt-4o-mini',
  usage: { promptTokens: 10, completionTokens: 5 },
  createdAt: Date.now(),
});

/** Same direction plus a little noise: a near-duplicate (cosine ≈ 0.97). */
function nearby(v: Float32Array, random: () => number, noise = 0.04): Float32Array {
  return normalizeInPlace(Float32Array.from(v, (x) => x + (random() - 0.5) * 2 * noise));
}

describe('Redis cache index on plain Redis 7 (LSH buckets + exact re-rank)', () => {
  let redis: RedisServer;
  let index: RedisCacheIndex;
  const random = seededRandom(42);

  beforeAll(async () => {
    redis = await startRedisServer();
    const client = redisIndexClient({ type: 'redis', url: redis.url, keyPrefix: 'sc-test:', commandTimeoutMs: 10_000 });
    await whenConnected(client);
    index = new RedisCacheIndex(client, 'sc-test:', { lshTables: 8, lshBits: 10, maxCandidates: 64, vectorSearch: 'lsh' });
  });
  afterAll(async () => {
    await closeRedisIndexClients();
    await redis.stop();
  });

  it('stores and finds answers exactly and by similarity, within their partition only', async () => {
    const v = randomUnitVector(32, random);
    await index.put(answer('p1', 'k1', 'one'), v, 60_000);
    expect((await index.getExact('p1', 'k1'))?.completion.choices[0].message.content).toBe('one');
    expect(await index.getExact('p2', 'k1')).toBeUndefined();
    const found = await index.search('p1', nearby(v, random), 0.9, 3);
    expect(found.map((c) => c.answer.exactKey)).toEqual(['k1']);
    expect(found[0].similarity).toBeGreaterThan(0.9);
    expect(await index.search('p2', v, 0.9, 3)).toEqual([]);
    expect(await index.search('p1', randomUnitVector(32, random), 0.9, 3)).toEqual([]);
  });

  it('expires answers and their bucket entries with the TTL', async () => {
    const v = randomUnitVector(32, random);
    await index.put(answer('p-ttl', 'k1'), v, 150);
    expect(await index.search('p-ttl', v, 0.9, 3)).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 250));
    expect(await index.getExact('p-ttl', 'k1')).toBeUndefined();
    const cost: LookupCost = { commands: 0, candidates: 0 };
    expect(await index.search('p-ttl', v, 0.9, 3, cost)).toEqual([]);
    expect(cost.candidates).toBe(0);
  });

  it('purges one partition, or everything', async () => {
    const v = randomUnitVector(32, random);
    await index.put(answer('pa', 'k1'), v, 60_000);
    await index.put(answer('pa', 'k2'), randomUnitVector(32, random), 60_000);
    await index.put(answer('pb', 'k1'), v, 60_000);
    expect(await index.purge('pa')).toBe(2);
    expect(await index.getExact('pa', 'k1')).toBeUndefined();
    expect(await index.search('pa', v, 0.9, 3)).toEqual([]);
    expect(await index.getExact('pb', 'k1')).toBeDefined();
    expect(await index.purge()).toBeGreaterThanOrEqual(1);
    expect(await index.getExact('pb', 'k1')).toBeUndefined();
  });

  it('kong-llm cache purge empties one partition or everything, and says how many answers went', async () => {
    const v = randomUnitVector(32, random);
    await index.put(answer('cli-a', 'k1'), v, 60_000);
    await index.put(answer('cli-a', 'k2'), v, 60_000);
    await index.put(answer('cli-b', 'k1'), v, 60_000);
    const cli = (...args: string[]) => execFileAsync(process.execPath, [CLI, 'cache', 'purge', ...args]).catch((e: { code: number; stdout: string; stderr: string }) => e);
    expect((await cli('--partition', 'cli-a', '--redis', redis.url, '--key-prefix', 'sc-test:')).stdout).toBe('purged 2 cached answers of partition cli-a\n');
    expect(await index.getExact('cli-a', 'k1')).toBeUndefined();
    expect(await index.getExact('cli-b', 'k1')).toBeDefined();
    expect((await cli('--all', '--redis', redis.url, '--key-prefix', 'sc-test:')).stdout).toMatch(/^purged [1-9]\d* cached answers?\n$/);
    expect(await index.getExact('cli-b', 'k1')).toBeUndefined();
    const refused = (await cli('--all')) as { code: number; stderr: string };
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/needs --redis URL/);
  });
});

/** Redis 8 (or Redis Stack) answers KNN queries itself (FT.SEARCH); plain Redis 7 has no vector search. */
const redisMajor = Number(/v=(\d+)/.exec(execFileSync('redis-server', ['--version']).toString())?.[1] ?? 0);
const nativeReason = redisMajor >= 8 ? '' : ` (skipped: redis-server ${redisMajor} on this machine has no vector search; needs Redis 8 or Redis Stack)`;

describe('Redis cache index with native vector search', () => {
  let redis: RedisServer;
  let index: RedisCacheIndex;
  const random = seededRandom(9);
  beforeAll(async () => {
    if (nativeReason) return;
    redis = await startRedisServer();
    const client = redisIndexClient({ type: 'redis', url: redis.url, keyPrefix: 'knn-test:', commandTimeoutMs: 10_000 });
    await whenConnected(client);
    index = new RedisCacheIndex(client, 'knn-test:', { lshTables: 8, lshBits: 10, maxCandidates: 16 });
  });
  afterAll(async () => {
    if (nativeReason) return;
    await closeRedisIndexClients();
    await redis.stop();
  });

  (nativeReason ? it.skip : it)(`uses FT.SEARCH KNN within the partition, one query per lookup${nativeReason}`, async () => {
    expect(await index.hasNativeVectorSearch()).toBe(true);
    const v = randomUnitVector(32, random);
    await index.put(answer('n1', 'k1', 'one'), v, 60_000);
    await index.put(answer('n1', 'k2', 'two'), randomUnitVector(32, random), 60_000);
    await index.put(answer('n2', 'k1', 'other tenant'), v, 60_000);
    const cost: LookupCost = { commands: 0, candidates: 0 };
    const found = await index.search('n1', nearby(v, random), 0.9, 3, cost);
    expect(found.map((c) => c.answer.completion.choices[0].message.content)).toEqual(['one']);
    expect(cost.commands).toBe(2); // the KNN query, then the answers
    expect(await index.purge('n1')).toBe(2);
    expect(await index.search('n1', v, 0.9, 3)).toEqual([]);
  });
});
