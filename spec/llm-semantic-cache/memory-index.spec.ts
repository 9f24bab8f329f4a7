import { MemoryCacheIndex } from '../../plugins/llm-semantic-cache/memory-index';
import type { CachedAnswer } from '../../plugins/llm-semantic-cache/vector-index';
import { randomUnitVector, seededRandom } from '../support/semantic-cache-fill';

const answer = (partition: string, exactKey: string): CachedAnswer => ({
  partition,
  exactKey,
  prompt: exactKey,
  completion: { choices: [{ index: 0, message: { role: 'assistant', content: exactKey }, finish_reason: 'stop' }] },
  usage: { promptTokens: 1, completionTokens: 1 },
  createdAt: 0,
});

describe('in-memory cache index', () => {
  const random = seededRandom(5);

  it('keeps at most max_entries answers, evicting the least recently used', async () => {
    const index = new MemoryCacheIndex(3, 100);
    for (const k of ['a', 'b', 'c']) await index.put(answer('p', k), randomUnitVector(8, random), 60_000);
    await index.getExact('p', 'a'); // a is now more recent than b
    await index.put(answer('p', 'd'), randomUnitVector(8, random), 60_000);
    expect(await index.getExact('p', 'b')).toBeUndefined();
    for (const k of ['a', 'c', 'd']) expect(await index.getExact('p', k)).toBeDefined();
  });

  it('keeps at most max_entries_per_partition answers per partition (the oldest go), so a lookup scans a bounded set', async () => {
    const index = new MemoryCacheIndex(100, 2);
    const v = randomUnitVector(8, random);
    for (const k of ['a', 'b', 'c']) await index.put(answer('p', k), v, 60_000);
    await index.put(answer('q', 'a'), v, 60_000);
    expect(await index.getExact('p', 'a')).toBeUndefined();
    const cost = { commands: 0, candidates: 0 };
    const found = await index.search('p', v, 0.99, 10, cost);
    expect(found.map((c) => c.answer.exactKey).sort()).toEqual(['b', 'c']);
    expect(cost.candidates).toBe(2);
    expect(await index.getExact('q', 'a')).toBeDefined();
  });

  it('never answers across partitions, expires answers, and purges one partition or all', async () => {
    const index = new MemoryCacheIndex(100, 100);
    const v = randomUnitVector(8, random);
    await index.put(answer('p', 'a'), v, 60_000);
    await index.put(answer('q', 'b'), v, 30);
    expect(await index.getExact('q', 'a')).toBeUndefined();
    expect((await index.search('q', v, 0.9, 3)).map((c) => c.answer.exactKey)).toEqual(['b']);
    await new Promise((r) => setTimeout(r, 60));
    expect(await index.search('q', v, 0.9, 3)).toEqual([]);
    expect(await index.purge('p')).toBe(1);
    expect(await index.getExact('p', 'a')).toBeUndefined();
    await index.put(answer('r', 'c'), v, 60_000);
    expect(await index.purge()).toBeGreaterThanOrEqual(1);
    expect(await index.getExact('r', 'c')).toBeUndefined();
  });
});
