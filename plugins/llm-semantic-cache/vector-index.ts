import type { ChatCompletion } from '../runtime/relay/stage';

/** One cached answer. Stored as JSON; never contains provider keys. */
export interface CachedAnswer {
  partition: string;
  exactKey: string;
  /** the text that was embedded (the guards compare it with the new request's) */
  prompt: string;
  /** the answer in OpenAI's shape, one choice */
  completion: ChatCompletion;
  provider?: string;
  model?: string;
  /** what the original call cost in tokens (the savings of every hit) */
  usage: { promptTokens: number; completionTokens: number; cachedTokens?: number; reasoningTokens?: number };
  createdAt: number;
}

export interface SemanticCandidate {
  answer: CachedAnswer;
  similarity: number;
}

/** How much work one semantic lookup did (tests and benchmarks show it stays flat as the cache grows). */
export interface LookupCost {
  /** store round trips / commands sent */
  commands: number;
  /** cached vectors compared exactly */
  candidates: number;
}

/**
 * Exact entries and vectors of cached answers, by partition. Implementations: in memory (one node) and Redis
 * (shared; LSH buckets on plain Redis, native KNN when the server has it).
 */
export interface CacheIndex {
  readonly kind: 'memory' | 'redis';
  getExact(partition: string, exactKey: string): Promise<CachedAnswer | undefined>;
  /** Nearest answers of the partition at or above `minSimilarity`, best first, at most `limit`. */
  search(partition: string, vector: Float32Array, minSimilarity: number, limit: number, cost?: LookupCost): Promise<SemanticCandidate[]>;
  /** Stores (or overwrites) an answer; with a vector it can be found semantically too. */
  put(answer: CachedAnswer, vector: Float32Array | undefined, ttlMs: number): Promise<void>;
  /** Deletes one partition, or everything; returns how many answers were removed. */
  purge(partition?: string): Promise<number>;
  close(): Promise<void>;
}
