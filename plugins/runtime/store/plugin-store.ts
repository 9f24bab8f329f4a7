import { z } from 'zod';
import { createStore } from './index';
import type { StoreOptions } from './options';
import type { Store } from './types';

const secret = { kong: { referenceable: true, encrypted: true } };

const hostPort = z.object({
  host: z.string().min(1).describe('Host name or address of a Redis node.'),
  port: z.number().int().min(1).max(65535).default(6379).describe('Port of the Redis node.'),
});

/**
 * The state settings shared by plugins that count (limits, budgets, cache), in the style of Kong's own
 * rate-limiting plugin: `policy: local` keeps state in the plugin server's memory (one Kong node);
 * `policy: redis` shares it across Kong nodes. Merge `storePolicyFields` into a plugin's config schema.
 */
export const storePolicyFields = {
  policy: z
    .enum(['local', 'redis'])
    .default('local')
    .describe('Where counters live: local (this Kong node\'s plugin server, no set-up) or redis (shared by all Kong nodes).'),
  redis: z
    .object({
      host: z.string().min(1).default('127.0.0.1').describe('Redis host (standalone mode).'),
      port: z.number().int().min(1).max(65535).default(6379).describe('Redis port (standalone mode).'),
      database: z.number().int().min(0).max(15).default(0).describe('Redis database number (standalone and Sentinel modes).'),
      username: z.string().min(1).optional().describe('Redis ACL user name, if the server requires one.'),
      password: z.string().min(1).optional().describe('Redis password; use a Kong vault reference.').meta(secret),
      ssl: z.boolean().default(false).describe('Connect to Redis over TLS.'),
      sentinel_master: z.string().min(1).optional().describe('Sentinel mode: the name of the master to follow.'),
      sentinel_nodes: z.array(hostPort).default([]).describe('Sentinel mode: the Sentinel nodes to ask.'),
      cluster_nodes: z.array(hostPort).default([]).describe('Cluster mode: some nodes of the Redis Cluster.'),
      timeout_ms: z.number().int().min(10).max(10_000).default(500).describe('Longest wait for one Redis command, in milliseconds.'),
      key_prefix: z.string().regex(/^[^{}]+$/).default('llm:').describe('Prefix of every key the suite writes (no braces).'),
    })
    .prefault({})
    .describe('Redis connection, used when policy is redis.'),
  fail_mode: z
    .enum(['open', 'closed'])
    .default('open')
    .describe('When the store fails or is slow: open lets requests through (and counts it), closed refuses them.'),
  store_timeout_ms: z
    .number()
    .int()
    .min(5)
    .max(10_000)
    .default(250)
    .describe('Longest wait for the store per request step; past it, fail_mode decides.'),
};

/** For plugins that reserve before the call and settle after it (limits, budgets). */
export const reservationFields = {
  reservation_ttl_seconds: z
    .number()
    .int()
    .min(10)
    .max(86_400)
    .default(900)
    .describe('A reservation never settled (the process died mid-request) is released after this many seconds; longer than your longest request.'),
};

const policySchema = z.object(storePolicyFields);
export type StorePolicy = z.infer<typeof policySchema>;

export function storeOptionsFor(policy: StorePolicy): StoreOptions {
  if (policy.policy === 'local') return { type: 'memory' };
  const r = policy.redis;
  const common = {
    type: 'redis' as const,
    keyPrefix: r.key_prefix,
    commandTimeoutMs: r.timeout_ms,
    username: r.username,
    password: r.password,
    tls: r.ssl || undefined,
  };
  if (r.cluster_nodes.length > 0) return { ...common, cluster: r.cluster_nodes };
  if (r.sentinel_master) return { ...common, sentinels: r.sentinel_nodes, name: r.sentinel_master };
  return { ...common, url: `${r.ssl ? 'rediss' : 'redis'}://${r.host}:${r.port}/${r.database}` };
}

/**
 * One store per distinct connection setting, for the whole process: every plugin instance (Kong restarts them at
 * will) and every plugin with the same settings shares one connection pool; the local store is one per process,
 * so limits and budgets held in memory survive instance restarts.
 */
const stores = new Map<string, Store>();

export function storeForPolicy(policy: StorePolicy): Store {
  const options = storeOptionsFor(policy);
  const key = JSON.stringify(options);
  let store = stores.get(key);
  if (!store) {
    store = createStore(options);
    stores.set(key, store);
  }
  return store;
}

export async function closePluginStores(): Promise<void> {
  const all = [...stores.values()];
  stores.clear();
  await Promise.allSettled(all.map((s) => s.close()));
}
