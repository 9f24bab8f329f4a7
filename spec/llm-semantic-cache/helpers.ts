import { semanticKeyText } from '../../plugins/llm-semantic-cache/conversation';
import type { Embedder } from '../../plugins/llm-semantic-cache/embedders/types';
import { MemoryCacheIndex } from '../../plugins/llm-semantic-cache/memory-index';
import { configSchema, type SemanticCacheConfig } from '../../plugins/llm-semantic-cache';
import { promptsAgree } from '../../plugins/llm-semantic-cache/guards';
import { cacheStage, type CacheStageDeps } from '../../plugins/llm-semantic-cache/stage';
import type { CacheIndex } from '../../plugins/llm-semantic-cache/vector-index';
import type { Identity } from '../../plugins/runtime/context';
import { relayPlugin } from '../../plugins/runtime/registration-plugin';
import { bagOfWordsVector, embeddingWords } from '../support/mock-providers/deterministic';

/**
 * A test double at the embedder boundary: bag of lower-cased words hashed into 64 dimensions (the OpenAI mock's
 * embeddings), so equal word sets have similarity 1 and the tests control what is "near".
 */
export class WordBagEmbedder implements Embedder {
  readonly id = 'test-word-bag-64';
  calls = 0;
  failing = false;
  async dimensions(): Promise<number> {
    return 64;
  }
  async embed(texts: string[]): Promise<Float32Array[]> {
    this.calls += 1;
    if (this.failing) throw new Error('embedder down');
    return texts.map((t) => Float32Array.from(bagOfWordsVector(embeddingWords(t), 64)));
  }
  async close(): Promise<void> {}
}

export const WINDOW_CHARS = 512;
export const keyTextOf = (messages: unknown[]) => semanticKeyText(messages, WINDOW_CHARS);

/** The plugin with its stage built on the given index and embedder (what ./index.ts builds from the config). */
export function cachePluginWith(deps: Partial<CacheStageDeps> & { index: CacheIndex }) {
  return relayPlugin({
    name: 'llm-semantic-cache',
    version: 'test',
    priority: 773,
    configSchema,
    relayStage: (config: SemanticCacheConfig) =>
      cacheStage(config, { keyTextOf, promptsAgree, threshold: config.threshold ?? 0.9, embedder: new WordBagEmbedder(), ...deps }),
  });
}

export function memoryIndex(maxEntries = 1000, perPartition = 1000): MemoryCacheIndex {
  return new MemoryCacheIndex(maxEntries, perPartition);
}

export const chat = (content: string, extra: Record<string, unknown> = {}) => ({ model: 'gpt-4o-mini', messages: [{ role: 'user', content }], max_tokens: 50, ...extra });
export const consumer = (id: string, groups: string[] = []): Partial<Identity> => ({ consumer: { id, username: id }, consumerGroups: groups, route: { id: 'route-1', name: 'chat' } });
