import { z } from 'zod';
import { relayPlugin } from '../runtime/registration-plugin';
import { storeOptionsFor } from '../runtime/store/plugin-store';
import { semanticKeyText } from './conversation';
import { createEmbedder, embedderConfigSchema, type EmbedderConfig } from './embedders';
import type { Embedder } from './embedders/types';
import { promptsAgree } from './guards';
import { MemoryCacheIndex } from './memory-index';
import { RedisCacheIndex, redisIndexClient } from './redis-index';
import { cacheFields } from './schema';
import { cacheStage } from './stage';
import { DEFAULT_THRESHOLDS, EMBED_WINDOW_CHARS } from './thresholds';
import type { CacheIndex } from './vector-index';

/**
 * Exact and semantic response cache (docs/llm-semantic-cache.md): exact match first, then the nearest cached
 * question of the same partition above a calibrated threshold, served only when the prompt guards agree.
 */
export const configSchema = z.object({ ...cacheFields, ...embedderConfigSchema.shape }).strict();
export type SemanticCacheConfig = z.infer<typeof configSchema>;

export const llmSemanticCache = relayPlugin({
  name: 'llm-semantic-cache',
  version: '0.2.0',
  priority: 773,
  configSchema,
  // the built-in model takes ~1 s to load: load it (in its worker thread) when Kong configures the plugin
  warmUp: (config: SemanticCacheConfig) => {
    if (config.mode === 'semantic') void embedderFor(config).dimensions().catch(() => undefined);
  },
  relayStage: (config: SemanticCacheConfig) =>
    cacheStage(config, {
      index: indexFor(config),
      embedder: config.mode === 'semantic' ? embedderFor(config) : undefined,
      keyTextOf: (messages) => semanticKeyText(messages, EMBED_WINDOW_CHARS[config.embedder]),
      promptsAgree,
      threshold: config.threshold ?? DEFAULT_THRESHOLDS[config.embedder],
    }),
  identityNeeds: (config: SemanticCacheConfig) => (config.scope === 'group' ? ['consumer_groups'] : []),
});

/**
 * One embedder per distinct embedder setting for the whole process (the built-in one is a worker thread with the
 * model loaded): plugin instances come and go with Kong's configuration, the model stays.
 */
const embedders = new Map<string, Embedder>();

function embedderFor(config: EmbedderConfig): Embedder {
  const fields = Object.fromEntries(Object.keys(embedderConfigSchema.shape).map((k) => [k, config[k as keyof EmbedderConfig]]));
  const key = JSON.stringify(fields);
  let embedder = embedders.get(key);
  if (!embedder) embedders.set(key, (embedder = createEmbedder(config)));
  return embedder;
}

/**
 * policy local: one memory index per size setting for the process, so cached answers survive instance restarts
 * (partitions keep routes, consumers and settings apart). policy redis: the shared connection of those settings.
 */
const memoryIndexes = new Map<string, MemoryCacheIndex>();

function indexFor(config: SemanticCacheConfig): CacheIndex {
  if (config.policy === 'redis') {
    return new RedisCacheIndex(redisIndexClient(storeOptionsFor({ ...config, fail_mode: 'open' })), config.redis.key_prefix, {
      lshTables: config.lsh_tables,
      lshBits: config.lsh_bits,
      maxCandidates: config.max_candidates,
    });
  }
  const key = `${config.max_entries}:${config.max_entries_per_partition}`;
  let index = memoryIndexes.get(key);
  if (!index) memoryIndexes.set(key, (index = new MemoryCacheIndex(config.max_entries, config.max_entries_per_partition)));
  return index;
}

export { cacheStage } from './stage';
export type { CacheAnnotation, CacheStageDeps } from './stage';
export { cacheMetrics, cacheMetricsText } from './metrics';
