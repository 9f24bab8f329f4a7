import { LRUCache } from 'lru-cache';
import { dot } from './embedders/vector';
import type { CacheIndex, CachedAnswer, LookupCost, SemanticCandidate } from './vector-index';

interface Entry {
  answer: CachedAnswer;
  vector?: Float32Array;
}

/**
 * The cache of one Kong node, in the plugin server's memory: at most `maxEntries` answers (least recently used
 * evicted first), each with its TTL, and at most `maxPerPartition` per partition (oldest evicted first), so a
 * semantic lookup compares at most that many vectors.
 */
export class MemoryCacheIndex implements CacheIndex {
  readonly kind = 'memory';
  private readonly entries: LRUCache<string, Entry>;
  /** partition → its entries' keys, oldest first */
  private readonly partitions = new Map<string, Set<string>>();

  constructor(
    maxEntries: number,
    private readonly maxPerPartition: number,
  ) {
    this.entries = new LRUCache<string, Entry>({
      max: maxEntries,
      ttlAutopurge: false,
      dispose: (entry, key) => this.forget(entry.answer.partition, key),
    });
  }

  private forget(partition: string, key: string): void {
    const keys = this.partitions.get(partition);
    if (!keys) return;
    keys.delete(key);
    if (keys.size === 0) this.partitions.delete(partition);
  }

  async getExact(partition: string, exactKey: string): Promise<CachedAnswer | undefined> {
    const entry = this.entries.get(exactKey);
    return entry?.answer.partition === partition ? entry.answer : undefined;
  }

  async search(partition: string, vector: Float32Array, minSimilarity: number, limit: number, cost?: LookupCost): Promise<SemanticCandidate[]> {
    const found: SemanticCandidate[] = [];
    for (const key of this.partitions.get(partition) ?? []) {
      const entry = this.entries.peek(key); // undefined once expired
      if (!entry?.vector) continue;
      if (cost) cost.candidates += 1;
      const similarity = dot(vector, entry.vector);
      if (similarity >= minSimilarity) found.push({ answer: entry.answer, similarity });
    }
    found.sort((a, b) => b.similarity - a.similarity);
    for (const c of found.slice(0, limit)) this.entries.get(c.answer.exactKey); // served candidates count as used
    return found.slice(0, limit);
  }

  async put(answer: CachedAnswer, vector: Float32Array | undefined, ttlMs: number): Promise<void> {
    const key = answer.exactKey;
    this.entries.delete(key); // an overwrite (no-cache refresh) goes to the end of its partition's order
    let keys = this.partitions.get(answer.partition);
    if (!keys) this.partitions.set(answer.partition, (keys = new Set()));
    keys.add(key);
    this.entries.set(key, { answer, vector }, { ttl: ttlMs });
    for (const oldest of keys) {
      if (keys.size <= this.maxPerPartition) break;
      this.entries.delete(oldest);
    }
  }

  async purge(partition?: string): Promise<number> {
    if (partition === undefined) {
      const n = this.entries.size;
      this.entries.clear();
      return n;
    }
    const keys = [...(this.partitions.get(partition) ?? [])];
    for (const key of keys) this.entries.delete(key);
    return keys.length;
  }

  async close(): Promise<void> {
    this.entries.clear();
  }
}
