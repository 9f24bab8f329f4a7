import { Cluster, Redis } from 'ioredis';
import { errorMessage, log } from '../runtime/logger';
import { RedisStoreOptionsSchema, type StoreOptions } from '../runtime/store/options';
import { HyperplaneLsh } from './lsh';
import { dot } from './embedders/vector';
import type { CacheIndex, CachedAnswer, LookupCost, SemanticCandidate } from './vector-index';

type Client = Redis | Cluster;

/**
 * Writes answers with their vectors and pushes them onto their LSH buckets, one round trip for any number of
 * answers of one partition. A bucket is a list, newest first, trimmed to `cap` members (O(1) writes, bounded
 * memory); it lives as long as its newest member. KEYS per answer: answer key, vector key, its bucket keys (`per`
 * keys in all); ARGV: ttlMs, per, cap, then per answer: answer JSON, vector, exact key.
 */
const PUT_ANSWERS = `
local ttl = tonumber(ARGV[1])
local per = tonumber(ARGV[2])
local cap = tonumber(ARGV[3])
for e = 0, #KEYS / per - 1 do
  local k = e * per
  local a = 4 + e * 3
  redis.call('SET', KEYS[k + 1], ARGV[a], 'PX', ttl)
  redis.call('SET', KEYS[k + 2], ARGV[a + 1], 'PX', ttl)
  for i = k + 3, k + per do
    redis.call('LPUSH', KEYS[i], ARGV[a + 2])
    redis.call('LTRIM', KEYS[i], 0, cap - 1)
    redis.call('PEXPIRE', KEYS[i], ttl)
  end
end
return 1`;

interface PutCommand {
  llmCachePut(numKeys: number, ...keysAndArgs: (string | number | Buffer)[]): unknown;
}

export interface RedisIndexOptions {
  lshTables: number;
  lshBits: number;
  maxCandidates: number;
  /** 'auto' uses the server's vector search (FT.SEARCH KNN) when it has one; 'lsh' never does. */
  vectorSearch?: 'auto' | 'lsh';
}

const PAGE = 500;

/**
 * The cache in Redis, shared by all Kong nodes. Keys of one partition share the Cluster hash tag {partition}:
 *   <prefix>sc:{P}:x:<exactKey>   the answer (JSON), with the TTL
 *   <prefix>sc:{P}:v:<exactKey>   its vector (float32), same TTL
 *   <prefix>sc:{P}:b:<t>:<bucket> LSH bucket of table t: a list of exact keys, newest first, trimmed
 * A semantic lookup reads the newest members of each table's bucket, caps the union at maxCandidates, fetches
 * those vectors in one MGET and ranks them exactly: the same number of commands and at most maxCandidates vectors
 * whatever the size of the cache. A server with native vector search (Redis 8, Redis Stack) answers the KNN query
 * itself from a HNSW index over <prefix>sc:n:… hashes.
 */
export class RedisCacheIndex implements CacheIndex {
  readonly kind = 'redis';
  private readonly lsh = new Map<number, HyperplaneLsh>();
  private native: Promise<boolean> | undefined;
  private readonly nativeIndexes = new Map<number, Promise<void>>();

  constructor(
    private readonly client: Client,
    private readonly prefix: string,
    private readonly options: RedisIndexOptions,
  ) {
    if (!(client as Partial<PutCommand>).llmCachePut) client.defineCommand('llmCachePut', { lua: PUT_ANSWERS });
  }

  private key(partition: string, kind: string, rest: string): string {
    return `${this.prefix}sc:{${partition}}:${kind}:${rest}`;
  }

  private lshFor(dimensions: number): HyperplaneLsh {
    let lsh = this.lsh.get(dimensions);
    if (!lsh) this.lsh.set(dimensions, (lsh = new HyperplaneLsh(dimensions, this.options.lshTables, this.options.lshBits)));
    return lsh;
  }

  /** Whether the server has RediSearch's vector search (asked once). */
  hasNativeVectorSearch(): Promise<boolean> {
    if (this.options.vectorSearch === 'lsh') return Promise.resolve(false);
    this.native ??= this.client.call('FT._LIST').then(
      () => true,
      () => false,
    );
    return this.native;
  }

  async getExact(partition: string, exactKey: string): Promise<CachedAnswer | undefined> {
    const raw = await this.client.get(this.key(partition, 'x', exactKey));
    return raw ? parseAnswer(raw) : undefined;
  }

  async search(partition: string, vector: Float32Array, minSimilarity: number, limit: number, cost?: LookupCost): Promise<SemanticCandidate[]> {
    const scored = (await this.hasNativeVectorSearch())
      ? await this.searchNative(partition, vector, cost)
      : await this.searchLsh(partition, vector, cost);
    const best = scored.filter((c) => c.similarity >= minSimilarity).sort((a, b) => b.similarity - a.similarity).slice(0, limit);
    if (best.length === 0) return [];
    if (cost) cost.commands += 1;
    const raws = await this.client.mget(best.map((c) => this.key(partition, 'x', c.exactKey)));
    return best.flatMap((c, i) => {
      const answer = raws[i] ? parseAnswer(raws[i]!) : undefined;
      return answer ? [{ answer, similarity: c.similarity }] : [];
    });
  }

  private async searchLsh(partition: string, vector: Float32Array, cost?: LookupCost): Promise<{ exactKey: string; similarity: number }[]> {
    const lsh = this.lshFor(vector.length);
    const pipeline = this.client.pipeline();
    lsh.buckets(vector).forEach((bucket, t) => pipeline.lrange(this.key(partition, 'b', `${t}:${bucket}`), 0, this.perTable() - 1));
    const pages = await pipeline.exec();
    if (cost) cost.commands += lsh.tables;
    const keys = new Set<string>();
    for (const [err, page] of pages ?? []) {
      if (err) throw err;
      for (const k of page as string[]) if (keys.size < this.options.maxCandidates) keys.add(k);
    }
    if (keys.size === 0) return [];
    const ids = [...keys];
    if (cost) {
      cost.commands += 1;
      cost.candidates += ids.length;
    }
    const vectors = await this.client.mgetBuffer(ids.map((id) => this.key(partition, 'v', id)));
    return ids.flatMap((exactKey, i) => {
      const raw = vectors[i];
      return raw ? [{ exactKey, similarity: dot(vector, toVector(raw)) }] : [];
    });
  }

  /** Members read from each table's bucket per lookup (the newest). */
  private perTable(): number {
    return Math.max(1, Math.ceil(this.options.maxCandidates / this.options.lshTables));
  }

  /** Members a bucket keeps: twice what a lookup reads, as room for duplicates (refreshed answers) and expired ones. */
  private bucketCap(): number {
    return 2 * this.perTable();
  }

  private nativeIndexName(dimensions: number): string {
    return `${this.prefix}sc-knn-${dimensions}`;
  }

  private ensureNativeIndex(dimensions: number): Promise<void> {
    let ready = this.nativeIndexes.get(dimensions);
    if (!ready) {
      ready = this.client
        .call('FT.CREATE', this.nativeIndexName(dimensions), 'ON', 'HASH', 'PREFIX', '1', `${this.prefix}sc:n:${dimensions}:`, 'SCHEMA', 'partition', 'TAG', 'vector', 'VECTOR', 'HNSW', '6', 'TYPE', 'FLOAT32', 'DIM', String(dimensions), 'DISTANCE_METRIC', 'COSINE')
        .then(
          () => undefined,
          (err: unknown) => {
            if (!/already exists/i.test(errorMessage(err))) throw err;
          },
        );
      ready.catch(() => this.nativeIndexes.delete(dimensions));
      this.nativeIndexes.set(dimensions, ready);
    }
    return ready;
  }

  private nativeKey(dimensions: number, partition: string, exactKey: string): string {
    return `${this.prefix}sc:n:${dimensions}:{${partition}}:${exactKey}`;
  }

  private async searchNative(partition: string, vector: Float32Array, cost?: LookupCost): Promise<{ exactKey: string; similarity: number }[]> {
    await this.ensureNativeIndex(vector.length);
    const k = this.options.maxCandidates;
    const query = `(@partition:{${escapeTag(partition)}})=>[KNN ${k} @vector $B AS distance]`;
    const reply = (await this.client.call('FT.SEARCH', this.nativeIndexName(vector.length), query, 'PARAMS', '2', 'B', toBuffer(vector), 'SORTBY', 'distance', 'LIMIT', '0', String(k), 'RETURN', '1', 'distance', 'DIALECT', '2')) as unknown[];
    if (cost) {
      cost.commands += 1;
      cost.candidates += Math.max(0, (reply.length - 1) / 2);
    }
    const found: { exactKey: string; similarity: number }[] = [];
    for (let i = 1; i + 1 < reply.length; i += 2) {
      const key = String(reply[i]);
      const fields = reply[i + 1] as unknown[];
      const distance = Number(fields[fields.indexOf('distance') + 1]);
      found.push({ exactKey: key.slice(key.lastIndexOf(':') + 1), similarity: 1 - distance });
    }
    return found;
  }

  async put(answer: CachedAnswer, vector: Float32Array | undefined, ttlMs: number): Promise<void> {
    await this.putMany([{ answer, vector }], ttlMs);
  }

  /** Several answers of one partition in one round trip (cache warming, tests, benchmarks). */
  async putMany(items: { answer: CachedAnswer; vector?: Float32Array }[], ttlMs: number): Promise<void> {
    const pipeline = this.client.pipeline();
    const lshKeys: string[] = [];
    const lshArgs: (string | Buffer)[] = [];
    let per = 0;
    for (const { answer, vector } of items) {
      const { partition, exactKey } = answer;
      const json = JSON.stringify(answer);
      if (vector && (await this.hasNativeVectorSearch())) {
        await this.ensureNativeIndex(vector.length);
        const key = this.nativeKey(vector.length, partition, exactKey);
        pipeline.set(this.key(partition, 'x', exactKey), json, 'PX', ttlMs);
        pipeline.hset(key, 'partition', partition, 'vector', toBuffer(vector));
        pipeline.pexpire(key, ttlMs);
      } else if (vector) {
        const buckets = this.lshFor(vector.length).buckets(vector);
        per = 2 + buckets.length;
        lshKeys.push(this.key(partition, 'x', exactKey), this.key(partition, 'v', exactKey), ...buckets.map((bucket, t) => this.key(partition, 'b', `${t}:${bucket}`)));
        lshArgs.push(json, toBuffer(vector), exactKey);
      } else {
        pipeline.set(this.key(partition, 'x', exactKey), json, 'PX', ttlMs);
      }
    }
    if (lshKeys.length > 0) {
      (pipeline as unknown as PutCommand).llmCachePut(lshKeys.length, ...lshKeys, ttlMs, per, this.bucketCap(), ...lshArgs);
    }
    const results = await pipeline.exec();
    for (const [err] of results ?? []) if (err) throw err;
  }

  async purge(partition?: string): Promise<number> {
    const pattern = partition === undefined ? `${this.prefix}sc:*` : `${this.prefix}sc:*{${partition}}:*`;
    let answers = 0;
    const nodes = this.client instanceof Cluster ? this.client.nodes('master') : [this.client];
    for (const node of nodes) {
      let cursor = '0';
      do {
        const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', PAGE);
        cursor = next;
        answers += keys.filter((k) => k.includes('}:x:')).length;
        // one command per key: keys of different partitions may live in different Cluster slots
        await Promise.all(keys.map((key) => node.unlink(key)));
      } while (cursor !== '0');
    }
    return answers;
  }

  async close(): Promise<void> {
    // the client is shared by every index on the same connection settings (see redisIndexClient)
  }
}

function parseAnswer(raw: string): CachedAnswer | undefined {
  try {
    return JSON.parse(raw) as CachedAnswer;
  } catch {
    return undefined;
  }
}

function toBuffer(vector: Float32Array): Buffer {
  return Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength);
}

function toVector(raw: Buffer): Float32Array {
  const copy = new Uint8Array(raw.byteLength);
  copy.set(raw);
  return new Float32Array(copy.buffer);
}

/** RediSearch TAG query syntax: punctuation in a tag value is escaped. */
function escapeTag(value: string): string {
  return value.replace(/[^A-Za-z0-9_]/g, (c) => `\\${c}`);
}

const clients = new Map<string, Client>();

/**
 * One client per distinct connection setting for the whole process, built from the same settings as the suite's
 * store (plugins/runtime/store/plugin-store.ts storeOptionsFor). Never waits for a connection: a command sent while
 * disconnected fails at once, and the cache bypasses.
 */
export function redisIndexClient(options: StoreOptions): Client {
  const o = RedisStoreOptionsSchema.parse(options);
  const id = JSON.stringify(o);
  let client = clients.get(id);
  if (client) return client;
  const connection = {
    username: o.username,
    password: o.password,
    tls: o.tls === true ? {} : o.tls || undefined,
    connectTimeout: o.connectTimeoutMs,
    commandTimeout: o.commandTimeoutMs,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: (attempt: number) => Math.min(50 * 2 ** Math.min(attempt, 6), 2000),
  };
  if (o.cluster) client = new Cluster(o.cluster, { enableOfflineQueue: false, redisOptions: connection });
  else if (o.sentinels) client = new Redis({ ...connection, sentinels: o.sentinels, name: o.name });
  else client = new Redis(o.url ?? '', connection);
  let healthy = true;
  client.on('error', (err: unknown) => {
    if (!healthy) return;
    healthy = false;
    log.warn('cache.redis.unavailable', { error: errorMessage(err) });
  });
  client.on('ready', () => void (healthy = true));
  clients.set(id, client);
  return client;
}

/** Waits (at most `timeoutMs`) for the client's connection: commands sent before it fail at once (the cache bypasses). */
export async function whenConnected(client: Client, timeoutMs = 5_000): Promise<void> {
  if (client.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no Redis connection after ${timeoutMs} ms`)), timeoutMs);
    client.once('ready', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

export async function closeRedisIndexClients(): Promise<void> {
  const all = [...clients.values()];
  clients.clear();
  await Promise.allSettled(all.map((c) => c.quit().catch(() => c.disconnect())));
}
