import { z } from 'zod';
import { storePolicyFields } from '../runtime/store/plugin-store';

/** The store settings the cache uses: fail_mode is not offered, a cache always fails open (Bypass). */
const { fail_mode: _failMode, ...cacheStoreFields } = storePolicyFields;

/** The cache's own settings (the embedder's fields are merged in by ./index.ts). */
export const cacheFields = {
  mode: z
    .enum(['semantic', 'exact'])
    .default('semantic')
    .describe('exact: only byte-identical (normalised) requests hit; semantic: also near-identical questions, checked by the prompt guards.'),
  ttl_s: z.number().int().min(1).max(2_592_000).default(3600).describe('How long a cached answer may be served, in seconds.'),
  threshold: z
    .number()
    .min(0)
    .max(1)
    .optional()
    .describe('Cosine similarity a semantic hit needs (0–1). Default: the value calibrated for the configured embedder.'),
  scope: z
    .enum(['consumer', 'group', 'shared'])
    .default('consumer')
    .describe('Who shares cached answers: consumer (each consumer its own), group (the consumer groups), shared (everyone on the route).'),
  max_temperature: z
    .number()
    .min(0)
    .max(2)
    .default(1)
    .describe('Requests with a temperature above this are neither served from nor written to the cache (their answers are meant to vary).'),
  cache_tool_calls: z
    .boolean()
    .default(false)
    .describe('Also cache answers that call tools, and answers to tool results. Off by default: tool results are live data.'),
  max_entries: z
    .number()
    .int()
    .min(1)
    .max(10_000_000)
    .default(10_000)
    .describe('policy local: most answers kept in memory (least recently used evicted first).'),
  max_entries_per_partition: z
    .number()
    .int()
    .min(1)
    .max(100_000)
    .default(2_000)
    .describe('policy local: most answers one partition keeps for semantic search (bounds the cost of a lookup).'),
  max_answer_bytes: z
    .number()
    .int()
    .min(1024)
    .max(16 * 1024 * 1024)
    .default(1024 * 1024)
    .describe('Answers larger than this (serialised) are not cached.'),
  lsh_tables: z
    .number()
    .int()
    .min(1)
    .max(32)
    .default(8)
    .describe('policy redis without native vector search: number of LSH hash tables (more: better recall, more lookups).'),
  lsh_bits: z
    .number()
    .int()
    .min(4)
    .max(24)
    .default(10)
    .describe('policy redis without native vector search: hyperplanes per LSH table (more: smaller buckets, lower recall).'),
  max_candidates: z
    .number()
    .int()
    .min(1)
    .max(1000)
    .default(64)
    .describe('Most cached entries compared exactly per semantic lookup (bounds its cost).'),
  response_headers: z
    .boolean()
    .default(true)
    .describe('Add X-Cache-Status, X-Cache-Key-Type, X-Cache-Similarity and X-Cache-Age to answers.'),
  ...cacheStoreFields,
};

export const cacheSchema = z.object(cacheFields).strict();
export type CacheConfig = z.infer<typeof cacheSchema>;
