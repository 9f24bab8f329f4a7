import { normalizeInPlace } from '../../plugins/llm-semantic-cache/embedders/vector';
import { mulberry32 } from '../../plugins/llm-semantic-cache/lsh';
import type { RedisCacheIndex } from '../../plugins/llm-semantic-cache/redis-index';

/** Deterministic uniform numbers in [0, 1). */
export const seededRandom = mulberry32;

export function randomUnitVector(dims: number, random: () => number): Float32Array {
  return normalizeInPlace(Float32Array.from({ length: dims }, () => random() - 0.5));
}

/** Fills one partition of a Redis index with `n` small answers and random vectors, in batches (tests, bench). */
export async function fillIndex(index: RedisCacheIndex, partition: string, n: number, dims: number, random: () => number, ttlMs = 300_000): Promise<void> {
  const completion = { choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }] };
  const BATCH = 250;
  const batches: Promise<void>[] = [];
  for (let start = 0; start < n; start += BATCH) {
    const items = [];
    for (let i = start; i < Math.min(n, start + BATCH); i++) {
      const exactKey = `${partition}-${i}`;
      items.push({ answer: { partition, exactKey, prompt: exactKey, completion, usage: { promptTokens: 1, completionTokens: 1 }, createdAt: 0 }, vector: randomUnitVector(dims, random) });
    }
    batches.push(index.putMany(items, ttlMs));
    if (batches.length >= 4) await Promise.all(batches.splice(0));
  }
  await Promise.all(batches);
}
